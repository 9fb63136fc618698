namespace Ferry.Protocol.Udp.Congestion;

/// <summary>
/// NewReno as specified for QUIC in RFC 9002 section 7: slow start, congestion avoidance, and one halving
/// per recovery period. Kept for comparison: every random loss halves it, which is what Ferry's default avoids.
/// </summary>
public sealed class NewRenoController : ICongestionController
{
    private readonly int _mss;
    private readonly long _minCwnd;
    private long _ssthresh = long.MaxValue;
    private long _recoveryStart = long.MinValue;
    private long _ackedInAvoidance;
    private long _srtt = 100_000;

    public NewRenoController(int maxDatagram, int initialWindowPackets = 32)
    {
        _mss = maxDatagram;
        _minCwnd = 2L * maxDatagram;
        CongestionWindow = (long)initialWindowPackets * maxDatagram;
    }

    public string Name => "newreno";

    public long CongestionWindow { get; private set; }

    /// <summary>Paces at 1.25 x cwnd / srtt to avoid line-rate bursts (RFC 9002 section 7.7).</summary>
    public long PacingRate => (long)(1.25 * CongestionWindow * 1_000_000 / Math.Max(_srtt, 100));

    public void OnPacketSent(long now, int bytes, long bytesInFlight)
    {
    }

    public void OnAck(in AckEvent ack)
    {
        _srtt = ack.SmoothedRtt;
        if (ack.LargestAckedSentTime <= _recoveryStart)
        {
            return;
        }

        if (CongestionWindow < _ssthresh)
        {
            CongestionWindow += ack.NewlyAckedBytes;
            return;
        }

        _ackedInAvoidance += ack.NewlyAckedBytes;
        if (_ackedInAvoidance >= CongestionWindow)
        {
            _ackedInAvoidance -= CongestionWindow;
            CongestionWindow += _mss;
        }
    }

    public void OnLoss(long now, long lostBytes, long congestiveBytes, long largestLostSentTime, long bytesInFlight)
    {
        if (largestLostSentTime <= _recoveryStart)
        {
            return;
        }

        _recoveryStart = now;
        CongestionWindow = Math.Max(CongestionWindow / 2, _minCwnd);
        _ssthresh = CongestionWindow;
        _ackedInAvoidance = 0;
    }
}
