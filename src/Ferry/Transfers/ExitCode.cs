namespace Ferry.Transfers;

/// <summary>Process exit codes of the ferry CLI (documented in README.md).</summary>
public enum ExitCode
{
    Ok = 0,
    /// <summary>Any failure not covered below.</summary>
    Failure = 1,
    /// <summary>Bad command line or URL.</summary>
    Usage = 2,
    /// <summary>The server refused or failed: not found, bad path, exists, busy, permission or token, no space or an I/O error on the server.</summary>
    Refused = 3,
    /// <summary>The SHA-256 of the received bytes did not match the sender's.</summary>
    Integrity = 4,
    /// <summary>Transient: nothing answered the handshake, the peer went silent, or the server is shutting down.</summary>
    Timeout = 5,
    /// <summary>A local file could not be read or written (missing source, full disk, permissions).</summary>
    LocalIo = 6,
    /// <summary>The server's key is not the pinned one (possible interception); nothing was transferred.</summary>
    ServerKeyMismatch = 7,
    /// <summary>A job of several files finished, but some of its files failed (each one was reported); the others are complete.</summary>
    Partial = 8,
    /// <summary>Interrupted by Ctrl+C / SIGTERM; what was kept depends on how far the transfer got (the message says).</summary>
    Interrupted = 130,
}
