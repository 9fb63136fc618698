namespace Ferry.Protocol.Tftp;

/// <summary>Why a datagram is not a valid TFTP packet. Malformed input is a value, never an exception.</summary>
public enum TftpParseError
{
    None = 0,

    /// <summary>Shorter than the fixed header of its opcode.</summary>
    Truncated,

    /// <summary>The opcode is not 1..6.</summary>
    UnknownOpcode,

    /// <summary>A NUL-terminated string (file name, mode, option) has no terminator.</summary>
    UnterminatedString,

    /// <summary>The request's file name is empty or not valid UTF-8.</summary>
    BadFileName,

    /// <summary>The mode is not "octet" or "netascii".</summary>
    BadMode,

    /// <summary>An option name has no value, or more options than <see cref="TftpLimits.MaxOptions"/>.</summary>
    BadOptions,

    /// <summary>A request longer than <see cref="TftpLimits.MaxRequestLength"/>.</summary>
    TooLong,
}
