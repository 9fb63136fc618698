namespace Ferry.Protocol.Udp.Congestion;

/// <summary>
/// A model-based controller after BBR (v1, draft-cardwell-iccrg-bbr-congestion-control-00): it paces at the
/// estimated bottleneck bandwidth and bounds in-flight data by a multiple of the bandwidth-delay product.
/// Random loss does not shrink the model, which is why it keeps long lossy links full where loss-based
/// controllers halve their window at every drop.
/// </summary>
public sealed class BbrController : ICongestionController
{
    private const double HighGain = 2.885;          // 2/ln(2): doubles the rate each round in Startup
    private const double DrainGain = 1 / HighGain;
    private const double CwndGain = 2.0;
    private const int BandwidthWindowRounds = 10;
    private const long MinRttWindow = 10_000_000;   // 10 s
    private const long ProbeRttDuration = 200_000;  // 200 ms
    private static readonly double[] s_probeBwGains = { 1.25, 0.75, 1, 1, 1, 1, 1, 1 };

    private readonly int _mss;
    private readonly long _initialCwnd;
    private readonly long _minCwnd;
    private WindowedMaxFilter _maxBw;
    private long _minRtt = long.MaxValue;
    private long _minRttStamp;
    private long _round;
    private long _nextRoundDelivered;
    private long _fullBw;
    private int _fullBwCount;
    private bool _filledPipe;
    private int _cycleIndex;
    private long _cycleStamp;
    private long _probeRttDoneStamp;
    private long _priorCwnd;
    private long _cwnd;
    private double _pacingGain = HighGain;
    private double _cwndGain = HighGain;

    public BbrController(int maxDatagram, int initialWindowPackets = 32)
    {
        _mss = maxDatagram;
        _initialCwnd = (long)initialWindowPackets * maxDatagram;
        _minCwnd = 4L * maxDatagram;
        _cwnd = _initialCwnd;
    }

    public enum Mode
    {
        Startup,
        Drain,
        ProbeBandwidth,
        ProbeRtt,
    }

    public string Name => "bbr";

    public Mode State { get; private set; } = Mode.Startup;

    public long BottleneckBandwidth => _maxBw.Best;

    public long CongestionWindow => _cwnd;

    public long PacingRate { get; private set; }

    public void OnPacketSent(long now, int bytes, long bytesInFlight)
    {
        if (PacingRate == 0)
        {
            // Before any sample: pace the initial window over the initial RTT guess (1 ms floor keeps loopback fast).
            PacingRate = (long)(HighGain * _initialCwnd * 1_000_000 / 1_000);
        }
    }

    public void OnAck(in AckEvent ack)
    {
        var rs = ack.Sample;
        // Round counting: a round ends when a packet sent after the previous round's end is acknowledged.
        bool roundStart = false;
        if (rs.PriorDelivered >= _nextRoundDelivered && rs.Delivered > 0)
        {
            _nextRoundDelivered = ack.TotalDelivered;
            _round++;
            roundStart = true;
        }

        if (rs.DeliveryRate > 0 && (!rs.IsAppLimited || rs.DeliveryRate >= _maxBw.Best))
        {
            _maxBw.Update(_round, rs.DeliveryRate, BandwidthWindowRounds);
        }

        bool minRttExpired = _minRtt != long.MaxValue && ack.Now > _minRttStamp + MinRttWindow;
        if (rs.Rtt > 0 && (rs.Rtt <= _minRtt || minRttExpired))
        {
            _minRtt = rs.Rtt;
            _minRttStamp = ack.Now;
        }

        if (roundStart && !_filledPipe && !rs.IsAppLimited)
        {
            if (_maxBw.Best >= _fullBw * 5 / 4)
            {
                _fullBw = _maxBw.Best;
                _fullBwCount = 0;
            }
            else if (++_fullBwCount >= 3)
            {
                _filledPipe = true;
            }
        }

        switch (State)
        {
            case Mode.Startup when _filledPipe:
                State = Mode.Drain;
                _pacingGain = DrainGain;
                _cwndGain = HighGain;
                break;
            case Mode.Drain when ack.BytesInFlight <= Bdp(1.0):
                EnterProbeBandwidth(ack.Now);
                break;
            case Mode.ProbeBandwidth:
                AdvanceCycle(ack.Now, ack.BytesInFlight);
                break;
        }

        if (State != Mode.ProbeRtt && minRttExpired)
        {
            State = Mode.ProbeRtt;
            _pacingGain = 1;
            _priorCwnd = _cwnd;
            _probeRttDoneStamp = 0;
        }

        if (State == Mode.ProbeRtt)
        {
            if (_probeRttDoneStamp == 0 && ack.BytesInFlight <= _minCwnd)
            {
                _probeRttDoneStamp = ack.Now + Math.Max(ProbeRttDuration, _minRtt);
            }
            else if (_probeRttDoneStamp != 0 && ack.Now >= _probeRttDoneStamp)
            {
                _minRttStamp = ack.Now;
                _cwnd = Math.Max(_cwnd, _priorCwnd);
                if (_filledPipe)
                {
                    EnterProbeBandwidth(ack.Now);
                }
                else
                {
                    State = Mode.Startup;
                    _pacingGain = _cwndGain = HighGain;
                }
            }
        }

        UpdatePacingRate();
        UpdateCwnd(ack);
    }

    public void OnLoss(long now, long lostBytes, long largestLostSentTime, long bytesInFlight)
    {
        // The model is not driven by loss: random loss must not halve the rate. Loss is repaired by retransmission.
    }

    private void EnterProbeBandwidth(long now)
    {
        State = Mode.ProbeBandwidth;
        _cwndGain = CwndGain;
        // Start at a random-free but stable phase: the cruise phase after the drain phase.
        _cycleIndex = 2;
        _cycleStamp = now;
        _pacingGain = s_probeBwGains[_cycleIndex];
    }

    private void AdvanceCycle(long now, long bytesInFlight)
    {
        long rtt = _minRtt == long.MaxValue ? 1_000 : _minRtt;
        bool elapsed = now - _cycleStamp > rtt;
        double gain = s_probeBwGains[_cycleIndex];
        bool advance = gain switch
        {
            > 1 => elapsed && bytesInFlight >= Bdp(gain),
            < 1 => elapsed || bytesInFlight <= Bdp(1.0),
            _ => elapsed,
        };
        if (advance)
        {
            _cycleIndex = (_cycleIndex + 1) % s_probeBwGains.Length;
            _cycleStamp = now;
            _pacingGain = s_probeBwGains[_cycleIndex];
        }
    }

    private long Bdp(double gain)
    {
        if (_minRtt == long.MaxValue || _maxBw.Best == 0)
        {
            return _initialCwnd;
        }

        return (long)(gain * _maxBw.Best * _minRtt / 1_000_000);
    }

    private void UpdatePacingRate()
    {
        if (_maxBw.Best == 0)
        {
            return;
        }

        long rate = (long)(_pacingGain * _maxBw.Best);
        // In Startup the rate only grows; afterwards it follows the model.
        if (_filledPipe || rate > PacingRate)
        {
            PacingRate = rate;
        }
    }

    private void UpdateCwnd(in AckEvent ack)
    {
        if (State == Mode.ProbeRtt)
        {
            _cwnd = _minCwnd;
            return;
        }

        // Allowance for ACK aggregation and delayed ACKs: a few packets beyond the BDP.
        long target = Bdp(_cwndGain) + 16L * _mss;
        if (_filledPipe)
        {
            _cwnd = Math.Min(_cwnd + ack.NewlyAckedBytes, target);
        }
        else if (_cwnd < target || ack.TotalDelivered < _initialCwnd)
        {
            _cwnd += ack.NewlyAckedBytes;
        }

        _cwnd = Math.Max(_cwnd, _minCwnd);
    }
}
