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
    private const double StartupGrowth = 2.0;
    private const long MinRttSlack = 1_000;          // RTT noise (ACK delay, scheduling) below which no queue is read
    private const int MaxDrainRounds = 4;             // longest ProbeBW drain phase, in minimum RTTs
    private const int MaxCreditFraction = 3;         // random-loss credit adds at most 1/3 to a delivery-rate sample
    private static readonly double[] s_probeBwGains = { 1.25, 0.75, 1, 1, 1, 1, 1, 1 };

    private readonly int _mss;
    private readonly long _initialCwnd;
    private readonly long _minCwnd;
    private WindowedMaxFilter _maxBw;
    private long _minRtt = long.MaxValue;
    private long _minRttStamp;
    private long _round;
    private long _nextRoundDelivered;
    private bool _pacingFromRtt;
    private long _roundMinRtt = long.MaxValue;
    private long _roundCongestiveLoss;
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
        long roundDelivered = 0;
        if (rs.PriorDelivered >= _nextRoundDelivered && rs.Delivered > 0)
        {
            roundDelivered = ack.TotalDelivered - _nextRoundDelivered;
            _nextRoundDelivered = ack.TotalDelivered;
            _round++;
            roundStart = true;
        }

        // Bandwidth sample: what the bottleneck carried. Packets lost while no queue stood (random loss after the
        // bottleneck) used its time as much as delivered ones; counting only delivered bytes would pace at C(1-p)
        // and leave a lossy link (1-p) empty. The credit is capped so that misclassified queue drops cannot run
        // the estimate away.
        long sample = rs.DeliveryRate;
        if (rs.CreditedRate > sample)
        {
            sample = Math.Min(rs.CreditedRate, sample + sample / MaxCreditFraction);
        }

        if (sample > 0 && (!rs.IsAppLimited || sample >= _maxBw.Best))
        {
            _maxBw.Update(_round, sample, BandwidthWindowRounds);
        }

        bool minRttExpired = _minRtt != long.MaxValue && ack.Now > _minRttStamp + MinRttWindow;
        if (rs.Rtt > 0 && (rs.Rtt <= _minRtt || minRttExpired))
        {
            _minRtt = rs.Rtt;
            _minRttStamp = ack.Now;
        }
        else if (rs.Rtt > 0 && rs.Rtt <= _minRtt + Math.Max(_minRtt / 16, MinRttSlack))
        {
            // Still seeing (nearly) the minimum: no queue to drain, so no need for a ProbeRTT dip, which would
            // cost a quarter of a second of a long transfer every 10 s.
            _minRttStamp = ack.Now;
        }

        if (rs.Rtt > 0)
        {
            _roundMinRtt = Math.Min(_roundMinRtt, rs.Rtt);
            if (!_filledPipe && _fullBwCount > 0 && _minRtt != long.MaxValue && rs.Rtt > _minRtt + Math.Max(_minRtt / 2, 4 * MinRttSlack))
            {
                // A queue of half the path's delay: the pipe is full now, do not wait for the round to end (the
                // window triples per round, so one more round would overflow a queue of a couple of BDPs).
                _filledPipe = true;
            }
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

            // Exit Startup as soon as a queue builds: a whole round whose best RTT is well above the minimum, or
            // drops at a full queue. Waiting for three rounds without growth (BBR v1) at 2.89x overshoots by
            // several BDPs on a long path.
            // Only once the bandwidth stopped growing for a round: on a loaded host, scheduling delays inflate RTT
            // samples while the pipe is still far from full, and an exit then would leave the flow at a fraction
            // of the link, regaining it only by 1.25x probes every 8 rounds.
            if (_fullBwCount > 0 && _roundMinRtt != long.MaxValue && _minRtt != long.MaxValue
                && _roundMinRtt > _minRtt + Math.Max(_minRtt / 4, 2 * MinRttSlack))
            {
                _filledPipe = true;
            }
        }

        if (roundStart)
        {
            // Drops at a full queue end Startup when they are many (BBR v2: a loss rate above 2% with at least
            // 8 losses in a round): a few drops are what a flow joining a queue kept full by others sees at once.
            if (!_filledPipe && _roundCongestiveLoss >= Math.Max(8L * _mss, roundDelivered / 50))
            {
                _filledPipe = true;
            }

            _roundMinRtt = long.MaxValue;
            _roundCongestiveLoss = 0;
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
                AdvanceCycle(ack.Now, ack.BytesInFlight, rs.Rtt);
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
            if (_probeRttDoneStamp == 0 && ack.BytesInFlight <= Math.Max(_minCwnd, Bdp(0.5)))
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

        if (!_pacingFromRtt && ack.MinRtt > 0)
        {
            // The first RTT sample replaces the 1 ms guess: Startup paces 2.89 x the initial window per RTT and grows
            // from there with the measured bandwidth. Kept at the guess, Startup would send every window as a
            // line-rate burst, building queues that end it long before the pipe is full.
            _pacingFromRtt = true;
            PacingRate = (long)(HighGain * _initialCwnd * 1_000_000 / ack.MinRtt);
        }

        UpdatePacingRate();
        UpdateCwnd(ack);
    }

    public void OnLoss(long now, long lostBytes, long congestiveBytes, long largestLostSentTime, long bytesInFlight)
    {
        // Random loss does not shrink the model: it must not halve the rate. Loss is repaired by retransmission.
        // Drops at a full queue are a signal: they end Startup, and they end a bandwidth probe early (BBR v2's
        // reaction to loss while probing), which keeps a shallow queue from overflowing every probe cycle.
        if (congestiveBytes == 0)
        {
            return;
        }

        _roundCongestiveLoss += congestiveBytes;
        if (_filledPipe && State == Mode.ProbeBandwidth && s_probeBwGains[_cycleIndex] > 1 && _roundCongestiveLoss >= 2L * _mss)
        {
            _cycleIndex = (_cycleIndex + 1) % s_probeBwGains.Length;
            _cycleStamp = now;
            _pacingGain = s_probeBwGains[_cycleIndex];
            UpdatePacingRate();
        }
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

    private void AdvanceCycle(long now, long bytesInFlight, long sampleRtt)
    {
        long rtt = _minRtt == long.MaxValue ? 1_000 : _minRtt;
        bool elapsed = now - _cycleStamp > rtt;
        double gain = s_probeBwGains[_cycleIndex];
        bool advance = gain switch
        {
            > 1 => elapsed && bytesInFlight >= Bdp(gain),
            // Drain until the queue the probe built is gone (BBR v2's ProbeBW_DOWN), not for one round only: the
            // bandwidth estimate is a max filter over noisy samples (ACK batching), so pacing at it creeps a
            // standing queue up to the window, the minimum RTT is then never seen again, and a ProbeRTT dip costs
            // a fifth of a second every 10 s. Also over once an RTT sample is back at the minimum (the queue is gone
            // even if a shrunken estimate says the window is still above one BDP), and bounded in time.
            < 1 => bytesInFlight <= Bdp(1.0) || (sampleRtt > 0 && sampleRtt <= rtt + Math.Max(rtt / 16, MinRttSlack))
                || now - _cycleStamp > MaxDrainRounds * rtt,
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
        if (!_filledPipe && _minRtt != long.MaxValue)
        {
            // The bandwidth estimate lags the window by a round in Startup; pacing the window itself over half the
            // RTT keeps the doubling per round (burst-free) instead of growing by the lagging estimate.
            rate = Math.Max(rate, 2 * _cwnd * 1_000_000 / Math.Max(_minRtt, 1));
        }

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
            // Half the BDP (BBR v2) rather than 4 packets: drains any standing queue at a fraction of the cost.
            _cwnd = Math.Max(_minCwnd, Bdp(0.5));
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
            // Startup: the window grows by StartupGrowth times what was acknowledged, i.e. (1 + StartupGrowth) per
            // round. Faster than slow start's doubling because Startup now ends on the first sign of a queue.
            _cwnd += (long)(StartupGrowth * ack.NewlyAckedBytes);
        }

        _cwnd = Math.Max(_cwnd, _minCwnd);
    }
}
