namespace Ferry.Protocol.Zmq;

/// <summary>Bounds of the zmq:// protocol; every length is checked against these before anything is kept.</summary>
public static class ZmqLimits
{
    /// <summary>Largest filename frame (UTF-8 bytes).</summary>
    public const int MaxFileNameBytes = 4096;

    /// <summary>Largest CHUNK data frame the server accepts; bigger ones get ERROR.</summary>
    public const int MaxChunkBytes = 16 << 20;

    /// <summary>
    /// Frames bigger than this make libzmq drop the connection before Ferry sees them (ZMQ_MAXMSGSIZE), which bounds
    /// what one frame can make the server allocate. Between <see cref="MaxChunkBytes"/> and this the answer is ERROR.
    /// </summary>
    public const int HardMaxFrameBytes = 32 << 20;

    /// <summary>Largest token frame of HELLO (Ferry's tokens are 38 characters).</summary>
    public const int MaxTokenBytes = 256;

    /// <summary>Longest ASCII decimal number: 19 digits (values up to 2^63-1).</summary>
    public const int MaxNumberDigits = 19;

    /// <summary>Largest file: offset + size of any chunk must not exceed 2^50 bytes (1 PiB).</summary>
    public const long MaxFileSize = 1L << 50;

    /// <summary>
    /// Messages of one client the server holds unanswered at most; more get ERROR right away.
    /// Bounds the per-client reply queue and the in-transit bookkeeping.
    /// </summary>
    public const int MaxUnansweredPerClient = 4096;

    /// <summary>
    /// Replies one client may be owed at most (refusals included, as they too keep their place in the order).
    /// A client that floods past this without reading gets no reply to the excess: it is dropped unanswered, so a
    /// peer can never grow the server's per-client queue without limit.
    /// </summary>
    public const int MaxOwedPerClient = 4 * MaxUnansweredPerClient;

    /// <summary>Frames kept of one message; further frames are only counted (no valid request has more than 6).</summary>
    public const int MaxKeptFrames = 8;

    /// <summary>
    /// Filenames one client (one ZeroMQ routing id) may have in use at once (open transfers and their actors);
    /// a HELLO for one more gets ERROR until one ends (CLOSE, abort or idle expiry).
    /// </summary>
    public const int MaxOpenTransfersPerClient = 64;

    /// <summary>Filenames in use at once over all clients; a HELLO beyond gets ERROR.</summary>
    public const int MaxOpenTransfers = 4096;

    /// <summary>
    /// Disjoint byte ranges one open transfer may hold (chunks that neither touch nor overlap a received range
    /// each add one). A CHUNK that would add one more gets ERROR, so a peer sending tiny scattered chunks cannot
    /// grow the server's bookkeeping without limit. Clients that send in order keep one range.
    /// </summary>
    public const int MaxRangesPerTransfer = 65536;
}
