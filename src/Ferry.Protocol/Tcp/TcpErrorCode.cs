namespace Ferry.Protocol.Tcp;

/// <summary>
/// Error codes carried by ERROR frames. 1..10 are the file engine's codes (same numbers);
/// 32 and up are protocol and session errors.
/// </summary>
public enum TcpErrorCode : ushort
{
    InvalidPath = 1,
    NotFound = 2,
    NotRegularFile = 3,
    AlreadyExists = 4,
    Busy = 5,
    NoSpace = 6,
    Io = 7,
    Integrity = 8,
    Denied = 9,
    TooLarge = 10,

    /// <summary>A frame was malformed, of the wrong type for the state, or too long.</summary>
    BadFrame = 32,

    /// <summary>The preamble named a version this peer does not speak.</summary>
    UnsupportedVersion = 33,

    /// <summary>JOIN named a session that does not exist (finished, expired or never opened).</summary>
    UnknownSession = 34,

    /// <summary>JOIN named a stream index not below the granted stream count.</summary>
    BadStream = 35,

    /// <summary>The preamble and first frame did not arrive within the handshake deadline.</summary>
    HandshakeTimeout = 36,

    /// <summary>Too many connections or sessions; try again later.</summary>
    ServerBusy = 37,

    /// <summary>The server is stopping; partial data is kept for resume.</summary>
    ShuttingDown = 38,

    /// <summary>No progress on the session for too long.</summary>
    IdleTimeout = 39,

    /// <summary>An unexpected failure inside the peer.</summary>
    Internal = 40,

    /// <summary>The peer gave up (for example Ctrl+C).</summary>
    Cancelled = 41,

    /// <summary>The access token is missing, unknown, expired, or does not allow this operation on this path.</summary>
    Unauthorized = 42,

    /// <summary>A cleartext connection to a server that accepts only TLS (the client used --insecure).</summary>
    EncryptionRequired = 43,

    /// <summary>A TLS handshake to a server that has no key and serves cleartext only.</summary>
    EncryptionUnavailable = 44,
}
