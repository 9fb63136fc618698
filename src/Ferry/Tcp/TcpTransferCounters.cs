namespace Ferry.Tcp;

/// <summary>Counters of one transfer (or of a whole listener), updated from every stream.</summary>
internal sealed class TcpTransferCounters
{
    private long _dataBytesSent;
    private long _dataBytesReceived;
    private long _streamsLost;
    private long _reconnects;
    private readonly long[] _perStream = new long[MaxTrackedStreams];

    /// <summary>Streams whose bytes are counted one by one (more are counted in the totals only).</summary>
    public const int MaxTrackedStreams = 256;

    /// <summary>File bytes put into DATA frames (what actually crossed the network, resends included).</summary>
    public long DataBytesSent => Interlocked.Read(ref _dataBytesSent);

    /// <summary>File bytes taken out of DATA frames.</summary>
    public long DataBytesReceived => Interlocked.Read(ref _dataBytesReceived);

    public long StreamsLost => Interlocked.Read(ref _streamsLost);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>File bytes moved by stream <paramref name="stream"/> (sent or received), for --verbose.</summary>
    public long StreamBytes(int stream) => (uint)stream < MaxTrackedStreams ? Interlocked.Read(ref _perStream[stream]) : 0;

    public void AddSent(int stream, long n)
    {
        Interlocked.Add(ref _dataBytesSent, n);
        AddStream(stream, n);
    }

    public void AddReceived(int stream, long n)
    {
        Interlocked.Add(ref _dataBytesReceived, n);
        AddStream(stream, n);
    }

    private void AddStream(int stream, long n)
    {
        if ((uint)stream < MaxTrackedStreams)
        {
            Interlocked.Add(ref _perStream[stream], n);
        }
    }

    public void StreamLost() => Interlocked.Increment(ref _streamsLost);

    public void Reconnected() => Interlocked.Increment(ref _reconnects);
}
