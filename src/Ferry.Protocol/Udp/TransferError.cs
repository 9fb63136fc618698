namespace Ferry.Protocol.Udp;

/// <summary>Error codes carried by RESULT and CLOSE frames. 1-10 mirror the file engine's refusals.</summary>
public enum TransferError : ushort
{
    None = 0,
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
    ProtocolViolation = 16,
    IdleTimeout = 17,
    Cancelled = 18,
    ServerShutdown = 19,
    FlowControl = 20,
    ServerBusy = 21,

    /// <summary>The client asked for cleartext and the server requires encryption.</summary>
    EncryptionRequired = 22,

    /// <summary>The client asked for encryption and the server has no key (it serves cleartext only).</summary>
    EncryptionUnavailable = 23,

    /// <summary>The handshake failed (bad hello, bad signature, or the client rejected the server's key).</summary>
    HandshakeFailed = 24,
}
