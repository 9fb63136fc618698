namespace Ferry.Protocol.Security;

/// <summary>Why a hello was not accepted.</summary>
public enum HandshakeFailure
{
    None = 0,

    /// <summary>Wrong length, version or a field that does not parse.</summary>
    Malformed,

    /// <summary>The peer wants a suite this side does not allow (e.g. cleartext to a server that requires encryption).</summary>
    SuiteRefused,

    /// <summary>The peer's ephemeral key is not a valid P-256 point.</summary>
    BadKey,

    /// <summary>The server's signature over the transcript does not verify.</summary>
    BadSignature,
}
