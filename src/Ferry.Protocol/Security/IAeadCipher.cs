namespace Ferry.Protocol.Security;

/// <summary>
/// AES-256-GCM with a 12-byte nonce and a 16-byte tag, keyed once. Implementations must produce exactly the
/// output of <see cref="System.Security.Cryptography.AesGcm"/> (the wire format depends on it). Not thread-safe:
/// one protector, one thread.
/// </summary>
public interface IAeadCipher : IDisposable
{
    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="ciphertext"/> (same length, may be the same memory) and writes the tag.</summary>
    void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> aad);

    /// <summary>Authenticates and decrypts; false (plaintext undefined) when the tag does not match.</summary>
    bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> aad);
}
