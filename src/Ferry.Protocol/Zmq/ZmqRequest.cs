namespace Ferry.Protocol.Zmq;

/// <summary>
/// A well-formed client request. <see cref="Offset"/>, <see cref="Size"/>, <see cref="Checksum"/> and <see cref="Data"/>
/// are meaningful for CHUNK; <see cref="Size"/> also for CLOSE. <see cref="Data"/> aliases the received frame.
/// </summary>
public readonly struct ZmqRequest
{
    public ZmqRequest(ZmqVerb verb, string fileName, long offset = 0, long size = 0, Sha256Digest checksum = default, ReadOnlyMemory<byte> data = default)
    {
        Verb = verb;
        FileName = fileName;
        Offset = offset;
        Size = size;
        Checksum = checksum;
        Data = data;
    }

    public ZmqVerb Verb { get; }

    public string FileName { get; }

    public long Offset { get; }

    public long Size { get; }

    public Sha256Digest Checksum { get; }

    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>HELLO's optional third frame: the access token (null when absent or empty: anonymous).</summary>
    public string? Token { get; init; }
}
