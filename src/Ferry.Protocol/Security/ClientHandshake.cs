using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Ferry.Protocol.Security;

/// <summary>
/// The client side of the Ferry secure-channel handshake (one round trip): send a hello with a fresh ephemeral
/// P-256 key, receive the server's ephemeral key and long-term key with a signature over the transcript, check the
/// signature, derive the session keys. Pure computation: the caller supplies the ephemeral key and the random bytes,
/// and decides whether the server's key is the expected one (pinning lives in the shell).
/// </summary>
public sealed class ClientHandshake : IDisposable
{
    private readonly ECDiffieHellman _ephemeral;
    private readonly byte[] _context;
    private readonly byte[] _hello = new byte[HandshakeMessages.ClientHelloSize];

    /// <param name="ephemeral">A fresh P-256 key used for this handshake only (disposed with this object).</param>
    /// <param name="random">32 random bytes.</param>
    /// <param name="context">Binds the keys to the protocol and connection (e.g. "udp" and the client's connection id).</param>
    public ClientHandshake(ECDiffieHellman ephemeral, ReadOnlySpan<byte> random, ReadOnlySpan<byte> context)
    {
        if (random.Length != HandshakeMessages.RandomSize)
        {
            throw new ArgumentException("32 random bytes expected", nameof(random));
        }

        _ephemeral = ephemeral;
        _context = context.ToArray();
        _hello[0] = HandshakeMessages.Version;
        _hello[1] = HandshakeMessages.SuiteP256Aes256Gcm;
        Transcript.WritePublicKey(ephemeral, _hello.AsSpan(2));
        random.CopyTo(_hello.AsSpan(2 + HandshakeMessages.PublicKeySize));
    }

    /// <summary>The client hello to send (the same bytes on every retransmission).</summary>
    public ReadOnlySpan<byte> Hello => _hello;

    /// <summary>Writes the hello of a client that asks for cleartext (<c>--insecure</c>); returns its length.</summary>
    public static int WriteInsecureHello(Span<byte> destination)
    {
        destination[0] = HandshakeMessages.Version;
        destination[1] = HandshakeMessages.SuiteNone;
        return HandshakeMessages.InsecureHelloSize;
    }

    /// <summary>
    /// Checks the server hello and derives the session keys. On success <paramref name="serverKey"/> is the server's
    /// DER SubjectPublicKeyInfo, which the caller must compare with the pinned key before trusting the channel.
    /// </summary>
    public HandshakeFailure TryComplete(ReadOnlySpan<byte> serverHello, int epochBits, out SessionKeys? keys, out byte[] serverKey)
    {
        keys = null;
        serverKey = Array.Empty<byte>();
        if (serverHello.Length < HandshakeMessages.MinServerHelloSize || serverHello[0] != HandshakeMessages.Version)
        {
            return HandshakeFailure.Malformed;
        }

        if (serverHello[1] != HandshakeMessages.SuiteP256Aes256Gcm)
        {
            return HandshakeFailure.SuiteRefused;
        }

        int pos = 2;
        var peerPoint = serverHello.Slice(pos, HandshakeMessages.PublicKeySize);
        pos += HandshakeMessages.PublicKeySize + HandshakeMessages.RandomSize;
        int keyLength = BinaryPrimitives.ReadUInt16BigEndian(serverHello[pos..]);
        pos += 2;
        if (keyLength == 0 || keyLength > HandshakeMessages.MaxServerKeySize
            || serverHello.Length != pos + keyLength + HandshakeMessages.SignatureSize)
        {
            return HandshakeFailure.Malformed;
        }

        var spki = serverHello.Slice(pos, keyLength);
        var unsigned = serverHello[..(pos + keyLength)];
        var signature = serverHello[(pos + keyLength)..];

        using var serverSigning = ECDsa.Create();
        try
        {
            serverSigning.ImportSubjectPublicKeyInfo(spki, out int read);
            if (read != keyLength || serverSigning.KeySize != 256)
            {
                return HandshakeFailure.BadKey;
            }
        }
        catch (Exception e) when (e is CryptographicException or PlatformNotSupportedException or ArgumentException)
        {
            return HandshakeFailure.BadKey;
        }

        var th = Transcript.Hash(_context, _hello, unsigned);
        if (!serverSigning.VerifyData(Transcript.SignedContent(th), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            return HandshakeFailure.BadSignature;
        }

        using var peer = Transcript.ImportPeerKey(peerPoint);
        if (peer is null)
        {
            return HandshakeFailure.BadKey;
        }

        var shared = _ephemeral.DeriveRawSecretAgreement(peer.PublicKey);
        var (c2s, s2c) = KeySchedule.TrafficSecrets(shared, th);
        CryptographicOperations.ZeroMemory(shared);
        keys = SessionKeys.For(isClient: true, c2s, s2c, epochBits);
        serverKey = spki.ToArray();
        return HandshakeFailure.None;
    }

    public void Dispose() => _ephemeral.Dispose();
}
