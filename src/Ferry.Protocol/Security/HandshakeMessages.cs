namespace Ferry.Protocol.Security;

/// <summary>Layout constants of the secure-channel hello messages (docs/PROTOCOL.md, "Secure channel").</summary>
public static class HandshakeMessages
{
    /// <summary>Version of the hello layout.</summary>
    public const byte Version = 1;

    /// <summary>No encryption: the client asked for cleartext (<c>--insecure</c>).</summary>
    public const byte SuiteNone = 0;

    /// <summary>ECDHE on P-256, ECDSA-P256-SHA256 server signature, HKDF-SHA256, AES-256-GCM.</summary>
    public const byte SuiteP256Aes256Gcm = 1;

    public const int PublicKeySize = 65;   // uncompressed SEC1 point: 0x04 || X || Y
    public const int RandomSize = 32;
    public const int SignatureSize = 64;   // IEEE P1363 r || s
    public const int MaxServerKeySize = 512;

    /// <summary>version, suite, client ephemeral key, client random.</summary>
    public const int ClientHelloSize = 2 + PublicKeySize + RandomSize;

    /// <summary>version, suite (the insecure hello stops here).</summary>
    public const int InsecureHelloSize = 2;

    /// <summary>Smallest possible server hello: version, suite, ephemeral key, random, key length, signature.</summary>
    public const int MinServerHelloSize = 2 + PublicKeySize + RandomSize + 2 + SignatureSize;

    public const string SignatureLabel = "ferry/1 server signature";
}
