namespace Ferry.Protocol.Tftp;

/// <summary>Error codes of the TFTP ERROR packet (RFC 1350 and RFC 2347).</summary>
public enum TftpErrorCode : ushort
{
    /// <summary>Not defined; see the message.</summary>
    NotDefined = 0,

    FileNotFound = 1,

    AccessViolation = 2,

    /// <summary>Disk full or allocation exceeded.</summary>
    DiskFull = 3,

    IllegalOperation = 4,

    UnknownTransferId = 5,

    FileAlreadyExists = 6,

    NoSuchUser = 7,

    /// <summary>The client refuses the options in an OACK, or the server refuses a request's options (RFC 2347).</summary>
    OptionNegotiation = 8,
}
