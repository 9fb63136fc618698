namespace Ferry.Files;

/// <summary>Why the file engine refused or failed an operation. Values are stable: protocols put them on the wire.</summary>
public enum FileErrorCode : byte
{
    /// <summary>Absolute, "..", ".", empty segment, NUL/control characters, backslash, overlong, symlink leaving the root, reserved temp names.</summary>
    InvalidPath = 1,

    NotFound = 2,

    /// <summary>Directory, device, fifo or socket where a regular file is needed.</summary>
    NotRegularFile = 3,

    /// <summary>The upload target exists and overwriting is not allowed.</summary>
    AlreadyExists = 4,

    /// <summary>The same path is being uploaded by someone else (any protocol).</summary>
    Busy = 5,

    /// <summary>The free-space check failed or the disk filled up during a write.</summary>
    NoSpace = 6,

    Io = 7,

    /// <summary>SHA-256 mismatch at commit.</summary>
    Integrity = 8,

    /// <summary>Permission denied (filesystem or, later, token).</summary>
    Denied = 9,

    TooLarge = 10,
}
