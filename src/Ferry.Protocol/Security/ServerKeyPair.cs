using System.Security.Cryptography;

namespace Ferry.Protocol.Security;

/// <summary>The server's long-term P-256 signing key with its public half in the forms the handshake needs.</summary>
public sealed class ServerKeyPair : IDisposable
{
    public ServerKeyPair(ECDsa key)
    {
        if (key.KeySize != 256)
        {
            throw new ArgumentException("the server key must be a P-256 key", nameof(key));
        }

        Key = key;
        SubjectPublicKeyInfo = key.ExportSubjectPublicKeyInfo();
        Fingerprint = KeyFingerprint.Of(SubjectPublicKeyInfo);
    }

    public ECDsa Key { get; }

    /// <summary>DER SubjectPublicKeyInfo of the public key (sent in the server hello).</summary>
    public byte[] SubjectPublicKeyInfo { get; }

    /// <summary><c>SHA256:…</c>, what users pin.</summary>
    public string Fingerprint { get; }

    /// <summary>A new random key (tests; the server loads its key from the state directory).</summary>
    public static ServerKeyPair Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    public void Dispose() => Key.Dispose();
}
