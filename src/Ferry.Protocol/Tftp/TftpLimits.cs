namespace Ferry.Protocol.Tftp;

/// <summary>Protocol constants and the bounds Ferry applies to untrusted input.</summary>
public static class TftpLimits
{
    /// <summary>RFC 1350 block size when no blksize option is negotiated.</summary>
    public const int DefaultBlockSize = 512;

    /// <summary>RFC 2348 smallest block size.</summary>
    public const int MinBlockSize = 8;

    /// <summary>RFC 2348 largest block size (65535 minus IP and UDP headers).</summary>
    public const int MaxBlockSize = 65464;

    /// <summary>RFC 7440 window size range.</summary>
    public const int MaxWindowSize = 65535;

    /// <summary>RFC 2349 timeout range in seconds.</summary>
    public const int MinTimeoutSeconds = 1;

    public const int MaxTimeoutSeconds = 255;

    /// <summary>DATA header: opcode + block number.</summary>
    public const int DataHeaderLength = 4;

    /// <summary>Largest datagram any TFTP packet can need.</summary>
    public const int MaxPacketLength = DataHeaderLength + MaxBlockSize;

    /// <summary>
    /// Largest request we parse. RFC 2347 caps requests at 512 octets; real clients stay far below, so anything
    /// beyond a generous 2 KiB is refused before any string is decoded.
    /// </summary>
    public const int MaxRequestLength = 2048;

    /// <summary>Most option pairs parsed from one request or OACK; more is refused.</summary>
    public const int MaxOptions = 16;

    /// <summary>Longest error message we decode from a peer (the rest is cut).</summary>
    public const int MaxErrorMessageChars = 200;

    /// <summary>Default retransmission timeout (RFC 1350 leaves it open; 5 s is customary).</summary>
    public const long DefaultTimeoutMicros = 5_000_000;

    /// <summary>Consecutive timeouts after which the peer is considered gone.</summary>
    public const int MaxConsecutiveTimeouts = 5;
}
