namespace Ferry.Protocol.Tftp;

/// <summary>Transfer mode of a request. "mail" is obsolete and refused.</summary>
public enum TftpMode
{
    /// <summary>Raw 8-bit bytes.</summary>
    Octet,

    /// <summary>NVT ASCII: line ends are CR LF on the wire, a lone CR is CR NUL.</summary>
    NetAscii,
}
