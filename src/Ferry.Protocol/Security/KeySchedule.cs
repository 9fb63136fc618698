using System.Security.Cryptography;
using System.Text;

namespace Ferry.Protocol.Security;

/// <summary>
/// HKDF-SHA256 derivations of the Ferry secure channel (docs/PROTOCOL.md, "Secure channel"). Labels are ASCII and
/// start with "ferry/1 " so keys of this version never collide with any other use of the same secret.
/// </summary>
public static class KeySchedule
{
    public const int SecretSize = 32;
    public const int KeySize = 32;
    public const int IvSize = 12;

    private static readonly byte[] s_clientToServer = Encoding.ASCII.GetBytes("ferry/1 c2s");
    private static readonly byte[] s_serverToClient = Encoding.ASCII.GetBytes("ferry/1 s2c");
    private static readonly byte[] s_keyUpdate = Encoding.ASCII.GetBytes("ferry/1 ku");
    private static readonly byte[] s_key = Encoding.ASCII.GetBytes("ferry/1 key");
    private static readonly byte[] s_iv = Encoding.ASCII.GetBytes("ferry/1 iv");

    /// <summary>Derives the two traffic secrets (epoch 0) from the ECDH shared secret and the handshake transcript hash.</summary>
    public static (byte[] ClientToServer, byte[] ServerToClient) TrafficSecrets(ReadOnlySpan<byte> sharedSecret, ReadOnlySpan<byte> transcriptHash)
    {
        Span<byte> prk = stackalloc byte[32];
        HKDF.Extract(HashAlgorithmName.SHA256, sharedSecret, transcriptHash, prk);
        var c2s = new byte[SecretSize];
        var s2c = new byte[SecretSize];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, c2s, s_clientToServer);
        HKDF.Expand(HashAlgorithmName.SHA256, prk, s2c, s_serverToClient);
        CryptographicOperations.ZeroMemory(prk);
        return (c2s, s2c);
    }

    /// <summary>The secret of the next key epoch; the old one can then be forgotten (forward secrecy within a session).</summary>
    public static byte[] NextSecret(ReadOnlySpan<byte> secret)
    {
        var next = new byte[SecretSize];
        HKDF.Expand(HashAlgorithmName.SHA256, secret, next, s_keyUpdate);
        return next;
    }

    /// <summary>The AEAD key and IV of one epoch's secret.</summary>
    public static void PacketKey(ReadOnlySpan<byte> secret, Span<byte> key, Span<byte> iv)
    {
        HKDF.Expand(HashAlgorithmName.SHA256, secret, key[..KeySize], s_key);
        HKDF.Expand(HashAlgorithmName.SHA256, secret, iv[..IvSize], s_iv);
    }
}
