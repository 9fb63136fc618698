namespace Ferry.Protocol.Udp.Wire;

/// <summary>Frame types carried in Initial and Data packets (one byte each).</summary>
public enum FrameType : byte
{
    Padding = 0x00,
    Ping = 0x01,
    Ack = 0x02,
    Data = 0x03,
    MaxData = 0x04,
    Request = 0x05,
    Accept = 0x06,
    Have = 0x07,
    DataFin = 0x08,
    Result = 0x09,
    Close = 0x0A,

    /// <summary>Client to server, in its first Initial: the secure-channel ClientHello (docs/PROTOCOL.md).</summary>
    Hello = 0x0B,

    /// <summary>Server to client, in a cleartext packet: the secure-channel ServerHello.</summary>
    ServerHello = 0x0C,

    /// <summary>Client to server, just before its first REQUEST of an upload: the client's upload key (16 bytes).</summary>
    UploadKey = 0x0D,

    /// <summary>
    /// Client to server, just before its first REQUEST of an upload or MKDIR: the permission bits (0..0o777) the file or
    /// directory gets when committed.
    /// </summary>
    FileMode = 0x0E,

    /// <summary>Either side: bytes of the connection's control stream (<see cref="ControlStream"/>): v offset, v length, bytes.</summary>
    Stream = 0x0F,

    /// <summary>
    /// A rate limit in bit/s (0: none) with a sequence number. Client to server just before its first REQUEST: the
    /// limit it asks for. Server to client (only to a client that sent one): the limit in force, again when it changes.
    /// </summary>
    RateLimit = 0x10,
}

/// <summary>Operation of a REQUEST frame.</summary>
public enum TransferOp : byte
{
    /// <summary>Client downloads from server.</summary>
    Get = 1,

    /// <summary>Client uploads to server.</summary>
    Put = 2,

    /// <summary>
    /// Client downloads a listing of the path (docs/PROTOCOL.md, "Listing format"): served exactly as a GET whose
    /// file is the encoded listing. The REQUEST's size field carries the listing flags (bit 0: recursive).
    /// </summary>
    List = 3,

    /// <summary>
    /// Client creates a directory (parents too) at the path: on the wire exactly a PUT of an empty file (size 0, its
    /// DATA_FIN and RESULT), whose commit creates the directory and gives it the FILE_MODE and identity mtime.
    /// </summary>
    MakeDirectory = 4,

    /// <summary>
    /// Client uploads a job of many files in one connection (docs/PROTOCOL.md, "Jobs on udp://"): the REQUEST's size
    /// field carries the number of manifest entries, the manifest and per-file messages travel on the control streams,
    /// the files' bytes are one job byte space.
    /// </summary>
    JobPut = 5,

    /// <summary>Client downloads a job of many files in one connection (as <see cref="JobPut"/>, the server sending).</summary>
    JobGet = 6,
}

/// <summary>Helpers on <see cref="TransferOp"/>.</summary>
public static class TransferOps
{
    /// <summary>True when the server sends data (GET, LIST).</summary>
    public static bool IsDownload(this TransferOp op) => op is TransferOp.Get or TransferOp.List or TransferOp.JobGet;

    /// <summary>True for the job operations (many files in one connection).</summary>
    public static bool IsJob(this TransferOp op) => op is TransferOp.JobPut or TransferOp.JobGet;
}

/// <summary>An inclusive range of packet numbers in an ACK frame.</summary>
public readonly record struct AckRange(ulong Smallest, ulong Largest);
