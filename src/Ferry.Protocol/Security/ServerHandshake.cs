using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Ferry.Protocol.Security;

/// <summary>
/// The server side of the secure-channel handshake: answer a client hello with a fresh ephemeral key, the server's
/// long-term key and an ECDSA signature over the transcript, and derive the session keys. Pure computation.
/// </summary>
public static class ServerHandshake
{
    /// <summary>Reads the suite a client hello asks for; false when the hello is malformed.</summary>
    public static bool TryReadSuite(ReadOnlySpan<byte> clientHello, out byte suite)
    {
        suite = 0;
        if (clientHello.Length < HandshakeMessages.InsecureHelloSize || clientHello[0] != HandshakeMessages.Version)
        {
            return false;
        }

        suite = clientHello[1];
        return suite switch
        {
            HandshakeMessages.SuiteNone => clientHello.Length == HandshakeMessages.InsecureHelloSize,
            HandshakeMessages.SuiteP256Aes256Gcm => clientHello.Length == HandshakeMessages.ClientHelloSize,
            _ => false,
        };
    }

    /// <summary>
    /// Answers an encrypted client hello. <paramref name="identity"/> signs; <paramref name="ephemeral"/> is a fresh
    /// P-256 key for this handshake only (the caller disposes it); <paramref name="random"/> is 32 random bytes.
    /// </summary>
    public static HandshakeFailure Respond(
        ReadOnlySpan<byte> context,
        ReadOnlySpan<byte> clientHello,
        ServerKeyPair identity,
        ECDiffieHellman ephemeral,
        ReadOnlySpan<byte> random,
        int epochBits,
        out byte[] serverHello,
        out SessionKeys? keys)
    {
        keys = null;
        var result = Respond(context, clientHello, identity, ephemeral, random, out serverHello, out var c2s, out var s2c);
        if (result == HandshakeFailure.None)
        {
            keys = SessionKeys.For(isClient: false, c2s, s2c, epochBits);
        }

        return result;
    }

    /// <summary>
    /// As the other overload, but hands out the two epoch-0 traffic secrets instead of keys (a stateless server seals
    /// them into a token; the caller zeroes them).
    /// </summary>
    public static HandshakeFailure Respond(
        ReadOnlySpan<byte> context,
        ReadOnlySpan<byte> clientHello,
        ServerKeyPair identity,
        ECDiffieHellman ephemeral,
        ReadOnlySpan<byte> random,
        out byte[] serverHello,
        out byte[] clientToServer,
        out byte[] serverToClient)
    {
        serverHello = clientToServer = serverToClient = Array.Empty<byte>();
        if (!TryReadSuite(clientHello, out byte suite))
        {
            return HandshakeFailure.Malformed;
        }

        if (suite != HandshakeMessages.SuiteP256Aes256Gcm)
        {
            return HandshakeFailure.SuiteRefused;
        }

        using var peer = Transcript.ImportPeerKey(clientHello.Slice(2, HandshakeMessages.PublicKeySize));
        if (peer is null)
        {
            return HandshakeFailure.BadKey;
        }

        var spki = identity.SubjectPublicKeyInfo;
        int unsignedLength = 2 + HandshakeMessages.PublicKeySize + HandshakeMessages.RandomSize + 2 + spki.Length;
        var hello = new byte[unsignedLength + HandshakeMessages.SignatureSize];
        hello[0] = HandshakeMessages.Version;
        hello[1] = HandshakeMessages.SuiteP256Aes256Gcm;
        Transcript.WritePublicKey(ephemeral, hello.AsSpan(2));
        int pos = 2 + HandshakeMessages.PublicKeySize;
        random[..HandshakeMessages.RandomSize].CopyTo(hello.AsSpan(pos));
        pos += HandshakeMessages.RandomSize;
        BinaryPrimitives.WriteUInt16BigEndian(hello.AsSpan(pos), (ushort)spki.Length);
        pos += 2;
        spki.CopyTo(hello.AsSpan(pos));

        var th = Transcript.Hash(context, clientHello, hello.AsSpan(0, unsignedLength));
        if (!identity.Key.TrySignData(Transcript.SignedContent(th), hello.AsSpan(unsignedLength), HashAlgorithmName.SHA256,
                DSASignatureFormat.IeeeP1363FixedFieldConcatenation, out int written) || written != HandshakeMessages.SignatureSize)
        {
            throw new CryptographicException("could not sign the handshake");
        }

        var shared = ephemeral.DeriveRawSecretAgreement(peer.PublicKey);
        (clientToServer, serverToClient) = KeySchedule.TrafficSecrets(shared, th);
        CryptographicOperations.ZeroMemory(shared);
        serverHello = hello;
        return HandshakeFailure.None;
    }
}
