namespace Ferry.Protocol.Tcp;

/// <summary>Direction of a session, from the client's point of view.</summary>
public enum TcpOperation : byte
{
    /// <summary>Download: the server sends.</summary>
    Get = 1,

    /// <summary>Upload: the client sends.</summary>
    Put = 2,

    /// <summary>
    /// Listing: the server sends the encoded listing of the path (docs/PROTOCOL.md, "Listing format") exactly as a GET
    /// sends a file. OPEN's size field carries the listing flags (bit 0: recursive); the path may be empty (the root).
    /// </summary>
    List = 3,

    /// <summary>
    /// Creates a directory (parents too): on the wire exactly a PUT of an empty file (size 0, HASH of nothing, DONE),
    /// whose commit creates the directory and gives it the OPEN's mode and version mtime.
    /// </summary>
    MakeDirectory = 4,

    /// <summary>
    /// A job of many files, client to server, in one session: OPEN (empty path, size = entry count), ENTRIES, STATUS,
    /// ACCEPT over the job's byte space (the accepted files laid end to end), then the data, FILE_HASH, FILE_RESULT, DONE.
    /// </summary>
    JobPut = 5,

    /// <summary>A job of many files, server to client, in one session (as <see cref="JobPut"/>, the server sends).</summary>
    JobGet = 6,
}
