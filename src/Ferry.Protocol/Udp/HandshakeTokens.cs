using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Ferry.Protocol.Udp;

/// <summary>
/// Tokens that carry a finished server handshake to the client and back, so the server can answer a first HELLO
/// with its SERVER_HELLO at once and still keep no state for an address it has not validated (docs/PROTOCOL.md,
/// "Stateless SERVER_HELLO"). The two traffic secrets travel sealed with AES-256-GCM under a key that only this
/// server process holds; the associated data binds the token to the client's address, port and connection id.
/// Layout: issued-at (8 bytes, server microseconds, big-endian) | counter (4) | ciphertext of c2s (32) and s2c (32) |
/// tag (16): 92 bytes, which also tells it apart from a 24-byte Retry token.
/// Keys are random, one per <see cref="Lifetime"/>-long epoch, and forgotten (zeroed) two epochs later: a token,
/// and the session secrets inside it, can be opened for at most twice its lifetime (forward secrecy).
/// </summary>
public sealed class HandshakeTokens
{
    public const int TokenLength = 8 + 4 + 64 + TagSize;
    private const int TagSize = 16;
    private readonly Action<Span<byte>> _fillRandom;
    private readonly Dictionary<long, byte[]> _keys = new();
    private uint _counter;

    // Tokens already used to open a connection, until they expire: a replayed first packet must not open a second one.
    private readonly Dictionary<(long Issued, uint Counter), long> _used = new();
    private readonly Queue<(long Issued, uint Counter)> _usedOrder = new();

    public HandshakeTokens(Action<Span<byte>> fillRandom, long lifetime = 10_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lifetime, 1);
        _fillRandom = fillRandom;
        Lifetime = lifetime;
    }

    public long Lifetime { get; }

    /// <summary>Tokens remembered as used (bounded by how many connections can open in two lifetimes).</summary>
    public int UsedCount => _used.Count;

    /// <summary>Seals the traffic secrets for <paramref name="peer"/> and its connection id.</summary>
    public byte[] Issue(in PeerAddress peer, ulong clientId, long now, ReadOnlySpan<byte> clientToServer, ReadOnlySpan<byte> serverToClient)
    {
        Rotate(now);
        var token = new byte[TokenLength];
        BinaryPrimitives.WriteInt64BigEndian(token, now);
        BinaryPrimitives.WriteUInt32BigEndian(token.AsSpan(8), unchecked(++_counter));
        Span<byte> plain = stackalloc byte[64];
        clientToServer.CopyTo(plain);
        serverToClient.CopyTo(plain[32..]);
        Span<byte> ad = stackalloc byte[34];
        AssociatedData(peer, clientId, ad);
        using var aead = new AesGcm(KeyFor(now / Lifetime)!, TagSize);
        aead.Encrypt(token.AsSpan(0, 12), plain, token.AsSpan(12, 64), token.AsSpan(76, TagSize), ad);
        CryptographicOperations.ZeroMemory(plain);
        return token;
    }

    /// <summary>
    /// Opens a token from <paramref name="peer"/>: false when it is not one, was made for another address, port or
    /// connection id, has expired, or was already used. On success the token counts as used.
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> token, in PeerAddress peer, ulong clientId, long now, out byte[] clientToServer, out byte[] serverToClient)
    {
        clientToServer = serverToClient = Array.Empty<byte>();
        if (token.Length != TokenLength)
        {
            return false;
        }

        Rotate(now);
        long issued = BinaryPrimitives.ReadInt64BigEndian(token);
        uint counter = BinaryPrimitives.ReadUInt32BigEndian(token[8..]);
        if (now - issued > Lifetime || issued > now || _used.ContainsKey((issued, counter)) || KeyFor(issued / Lifetime) is not { } key)
        {
            return false;
        }

        Span<byte> ad = stackalloc byte[34];
        AssociatedData(peer, clientId, ad);
        var plain = new byte[64];
        try
        {
            using var aead = new AesGcm(key, TagSize);
            aead.Decrypt(token[..12], token.Slice(12, 64), token.Slice(76, TagSize), plain, ad);
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }

        _used[(issued, counter)] = issued + Lifetime;
        _usedOrder.Enqueue((issued, counter));
        clientToServer = plain[..32];
        serverToClient = plain[32..];
        CryptographicOperations.ZeroMemory(plain);
        return true;
    }

    /// <summary>The key of an epoch that is current or just past; null for any other.</summary>
    private byte[]? KeyFor(long epoch) => _keys.GetValueOrDefault(epoch);

    private void Rotate(long now)
    {
        long epoch = now / Lifetime;
        if (!_keys.ContainsKey(epoch))
        {
            var key = new byte[32];
            _fillRandom(key);
            _keys[epoch] = key;
        }

        // Keep this epoch's key and the previous one (a token issued just before the turn is still valid).
        foreach (long old in _keys.Keys.Where(e => e < epoch - 1 || e > epoch).ToList())
        {
            CryptographicOperations.ZeroMemory(_keys[old]);
            _keys.Remove(old);
        }

        while (_usedOrder.TryPeek(out var u) && _used[u] < now)
        {
            _used.Remove(u);
            _usedOrder.Dequeue();
        }
    }

    private static void AssociatedData(in PeerAddress peer, ulong clientId, Span<byte> destination)
    {
        peer.WriteTo(destination);
        BinaryPrimitives.WriteUInt64BigEndian(destination[18..], clientId);
        BinaryPrimitives.WriteUInt64BigEndian(destination[26..], 0x6665727279687321); // "ferryhs!": never a Retry MAC input
    }
}
