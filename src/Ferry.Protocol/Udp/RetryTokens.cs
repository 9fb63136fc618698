using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Ferry.Protocol.Udp;

/// <summary>
/// Stateless address-validation tokens (as QUIC Retry and WireGuard cookies): the server keeps no state for a
/// client until it echoes a token that only the server could have made for that address, client id and time.
/// Layout: issued-at (8 bytes, microseconds, big-endian) then the first 16 bytes of
/// HMAC-SHA256(key, address(16) | port(2) | client id(8) | issued-at(8)).
/// </summary>
public sealed class RetryTokens
{
    public const int TokenLength = 24;
    private readonly byte[] _key;

    public RetryTokens(byte[] key, long lifetime = 10_000_000)
    {
        if (key.Length < 16)
        {
            throw new ArgumentException("retry key must be at least 16 bytes", nameof(key));
        }

        _key = key;
        Lifetime = lifetime;
    }

    public long Lifetime { get; }

    public byte[] Issue(in PeerAddress peer, ulong clientId, long now)
    {
        var token = new byte[TokenLength];
        BinaryPrimitives.WriteInt64BigEndian(token, now);
        Mac(peer, clientId, now, token.AsSpan(8));
        return token;
    }

    public bool Validate(ReadOnlySpan<byte> token, in PeerAddress peer, ulong clientId, long now)
    {
        if (token.Length != TokenLength)
        {
            return false;
        }

        long issued = BinaryPrimitives.ReadInt64BigEndian(token);
        if (now - issued > Lifetime || issued - now > 1_000_000)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[16];
        Mac(peer, clientId, issued, expected);
        return CryptographicOperations.FixedTimeEquals(expected, token[8..]);
    }

    private void Mac(in PeerAddress peer, ulong clientId, long issued, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[34];
        peer.WriteTo(input);
        BinaryPrimitives.WriteUInt64BigEndian(input[18..], clientId);
        BinaryPrimitives.WriteInt64BigEndian(input[26..], issued);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, input, mac);
        mac[..16].CopyTo(destination);
    }
}
