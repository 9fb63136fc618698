namespace Ferry.Tcp;

/// <summary>Counters of one transfer (or of a whole listener), updated from every stream.</summary>
internal sealed class TcpTransferCounters
{
    private long _dataBytesSent;
    private long _dataBytesReceived;
    private long _streamsLost;
    private long _reconnects;

    /// <summary>File bytes put into DATA frames (what actually crossed the network, resends included).</summary>
    public long DataBytesSent => Interlocked.Read(ref _dataBytesSent);

    /// <summary>File bytes taken out of DATA frames.</summary>
    public long DataBytesReceived => Interlocked.Read(ref _dataBytesReceived);

    public long StreamsLost => Interlocked.Read(ref _streamsLost);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    public void AddSent(long n) => Interlocked.Add(ref _dataBytesSent, n);

    public void AddReceived(long n) => Interlocked.Add(ref _dataBytesReceived, n);

    public void StreamLost() => Interlocked.Increment(ref _streamsLost);

    public void Reconnected() => Interlocked.Increment(ref _reconnects);
}
