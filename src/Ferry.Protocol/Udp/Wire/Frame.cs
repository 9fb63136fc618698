namespace Ferry.Protocol.Udp.Wire;

/// <summary>
/// One decoded frame. A tagged union: only the fields of <see cref="Type"/> are meaningful.
/// Spans point into the datagram and are valid only while it is.
/// </summary>
public ref struct Frame
{
    public FrameType Type;

    // ACK
    public ulong LargestAcked;
    public ulong AckDelayMicros;
    public int AckRangeCount;   // ranges written to the caller's scratch span, highest first

    // DATA (Offset, Length, Data); MAX_DATA (Offset); DATA_FIN (Length = size, Data = SHA-256)
    public long Offset;
    public long Length;
    public ReadOnlySpan<byte> Data;

    // REQUEST / ACCEPT
    public TransferOp Op;
    public int MaxDatagram;
    public string Text;          // REQUEST path (null: not UTF-8), RESULT / CLOSE message
    public long Size;            // REQUEST (PUT) size, ACCEPT file size
    public long IdentitySize;    // source file identity for resume
    public long IdentityMtime;
    public ulong ConnectionId;   // ACCEPT: server's connection id
    public long Code;            // RESULT / CLOSE code; FILE_MODE permission bits; RATE_LIMIT sequence number
    public long Rate;            // RATE_LIMIT: bit/s, 0 for none
    public string Token;         // REQUEST: access token ("" when anonymous; null: not UTF-8)

    // HELLO / SERVER_HELLO: the hello message is in Data; UPLOAD_KEY: the key is in Data

    // HAVE: ranges (start, length) pairs are in Data, count in AckRangeCount; decode with FrameCodec.ReadHaveRanges
    public bool HaveComplete;
}
