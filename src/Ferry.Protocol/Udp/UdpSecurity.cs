using System.Security.Cryptography;
using Ferry.Protocol.Security;

namespace Ferry.Protocol.Udp;

/// <summary>
/// Secure-channel settings of a UDP connection (docs/PROTOCOL.md, "Secure channel" and "udp://"). The defaults
/// make a client that encrypts and a server without a key (which can only serve <see cref="Insecure"/> clients).
/// </summary>
public sealed class UdpSecurity
{
    /// <summary>Server: the long-term key it signs handshakes with; null means it cannot encrypt.</summary>
    public ServerKeyPair? Identity { get; init; }

    /// <summary>Server: also accept clients that ask for cleartext.</summary>
    public bool AllowInsecure { get; init; }

    /// <summary>Client: ask for cleartext (<c>--insecure</c>).</summary>
    public bool Insecure { get; init; }

    /// <summary>Packets per key epoch as a power of two (tests make it small to exercise key updates).</summary>
    public int EpochBits { get; init; } = PacketProtector.DefaultEpochBits;

    /// <summary>Makes the ephemeral key of one handshake (a seeded source in deterministic tests).</summary>
    public Func<ECDiffieHellman> NewEphemeral { get; init; } = () => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>Fills handshake randoms.</summary>
    public Action<Span<byte>> FillRandom { get; init; } = RandomNumberGenerator.Fill;

    /// <summary>The context string of a UDP handshake: a label and the client's connection id.</summary>
    internal static byte[] Context(ulong clientId)
    {
        var context = new byte[17];
        "ferry udp"u8.CopyTo(context);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(context.AsSpan(9), clientId);
        return context;
    }
}
