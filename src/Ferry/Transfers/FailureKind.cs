using Ferry.Files;

namespace Ferry.Transfers;

/// <summary>
/// Why a transfer failed: the one catalog every scheme maps its wire errors to and from (udp://
/// <c>UdpErrors</c>, tcp:// <c>TcpErrors</c>, zmq:// <c>ZmqFileErrors</c>, tftp:// <c>TftpErrorMapping</c>).
/// The file engine's <see cref="FileErrorCode"/> values come first, with the same numbers; the rest are what a
/// connection, not a file, can fail with. <see cref="Failures"/> gives each entry its exit code and its words.
/// </summary>
public enum FailureKind : ushort
{
    InvalidPath = FileErrorCode.InvalidPath,
    NotFound = FileErrorCode.NotFound,
    NotRegularFile = FileErrorCode.NotRegularFile,
    AlreadyExists = FileErrorCode.AlreadyExists,
    Busy = FileErrorCode.Busy,
    NoSpace = FileErrorCode.NoSpace,

    /// <summary>Reading or writing the file failed on the server (a disk error, not a refusal of the request).</summary>
    Io = FileErrorCode.Io,
    Integrity = FileErrorCode.Integrity,
    Denied = FileErrorCode.Denied,
    TooLarge = FileErrorCode.TooLarge,

    /// <summary>The server is stopping; what it received is kept, so the same command resumes.</summary>
    ServerShutdown = 32,

    /// <summary>Too many connections or transfers on the server; try again later.</summary>
    ServerBusy = 33,

    /// <summary>The access token is missing, unknown, expired, or does not allow this.</summary>
    Unauthorized = 34,

    /// <summary>A cleartext client (--insecure) and a server that requires encryption.</summary>
    EncryptionRequired = 35,

    /// <summary>An encrypting client and a server that has no key.</summary>
    EncryptionUnavailable = 36,

    /// <summary>The secure handshake failed.</summary>
    HandshakeFailed = 37,

    /// <summary>The peer broke the protocol (a malformed or unexpected message).</summary>
    ProtocolViolation = 38,

    /// <summary>The peer went silent mid-transfer.</summary>
    IdleTimeout = 39,

    /// <summary>The peer gave up (Ctrl+C).</summary>
    Cancelled = 40,

    /// <summary>Anything else that went wrong inside the peer.</summary>
    Internal = 41,
}
