using Ferry.Protocol.Udp.Congestion;
using Ferry.Protocol.Udp.Recovery;

namespace Ferry.Tests.Udp.Recovery;

/// <summary>
/// A sender that always has data, driving one congestion controller over a modelled path: a bottleneck of a fixed
/// rate with a drop-tail queue, a fixed round-trip delay behind it, and optional random loss after the bottleneck.
/// Every packet is acknowledged on its own; a lost packet is declared lost when a packet sent after it is
/// acknowledged. Delivery-rate samples follow draft-cheng-iccrg-delivery-rate-estimation. Times in microseconds,
/// everything deterministic (a seeded RNG). What the controller sees is exactly <see cref="ICongestionController"/>'s
/// contract, nothing of a connection.
/// </summary>
internal sealed class TestSender
{
    private readonly ICongestionController _cc;
    private readonly long _bottleneckBytesPerSecond;
    private readonly long _queueLimitBytes;
    private readonly double _randomLoss;
    private readonly Random _rng;
    private readonly PriorityQueue<Packet, long> _arrivals = new();
    private readonly Queue<Packet> _lost = new();
    private readonly RttEstimator _rtt = new(100_000);
    private long _now;
    private long _nextSend;
    private long _bottleneckBusyUntil;
    private long _inFlight;
    private long _delivered;
    private long _deliveredTime;
    private long _firstSentTime;

    public TestSender(ICongestionController cc, long bottleneckBytesPerSecond, long roundTrip, long queueLimitBytes, double randomLoss = 0, int seed = 1)
    {
        _cc = cc;
        _bottleneckBytesPerSecond = bottleneckBytesPerSecond;
        RoundTrip = roundTrip;
        _queueLimitBytes = queueLimitBytes;
        _randomLoss = randomLoss;
        _rng = new Random(seed);
    }

    public int Mss { get; init; } = 1_200;

    /// <summary>The path's delay beside the bottleneck's queue; may change while running.</summary>
    public long RoundTrip { get; set; }

    public long Now => _now;

    public long Delivered => _delivered;

    public RttEstimator Rtt => _rtt;

    /// <summary>Called after every ACK the controller has seen, with the packet's RTT sample.</summary>
    public Action<long>? AfterAck { get; set; }

    /// <summary>Runs until <paramref name="until"/>; returns the bytes delivered meanwhile.</summary>
    public long RunUntil(long until)
    {
        long deliveredBefore = _delivered;
        while (true)
        {
            long sendAt = _inFlight + Mss <= _cc.CongestionWindow ? Math.Max(_nextSend, _now) : long.MaxValue;
            long ackAt = _arrivals.TryPeek(out _, out long at) ? at : long.MaxValue;
            long next = Math.Min(sendAt, ackAt);
            if (next > until)
            {
                _now = until;
                return _delivered - deliveredBefore;
            }

            _now = next;
            if (ackAt <= sendAt)
            {
                OnAck(_arrivals.Dequeue());
            }
            else
            {
                Send();
            }
        }
    }

    private void Send()
    {
        var p = new Packet(_now, _delivered, _deliveredTime == 0 ? _now : _deliveredTime, _inFlight == 0 ? _now : _firstSentTime);
        if (_inFlight == 0)
        {
            _firstSentTime = _now;
            _deliveredTime = _now;
            p = p with { DeliveredTime = _now, FirstSentTime = _now };
        }

        _inFlight += Mss;
        _cc.OnPacketSent(_now, Mss, _inFlight);
        long rate = Math.Max(_cc.PacingRate, 1);
        _nextSend = _now + Math.Max(1, Mss * 1_000_000L / rate);

        // The bottleneck: queued behind what it is still sending, or dropped when the queue is full.
        long start = Math.Max(_now, _bottleneckBusyUntil);
        long queued = (start - _now) * _bottleneckBytesPerSecond / 1_000_000;
        if (queued + Mss > _queueLimitBytes)
        {
            _lost.Enqueue(p with { Congestive = true });
            return;
        }

        _bottleneckBusyUntil = start + (Mss * 1_000_000L / _bottleneckBytesPerSecond);
        if (_randomLoss > 0 && _rng.NextDouble() < _randomLoss)
        {
            _lost.Enqueue(p);
            return;
        }

        _arrivals.Enqueue(p, _bottleneckBusyUntil + RoundTrip);
    }

    private void OnAck(Packet p)
    {
        _inFlight -= Mss;
        _delivered += Mss;
        _deliveredTime = _now;
        long sample = _now - p.Sent;
        _rtt.Update(sample, 0);
        long sendElapsed = p.Sent - p.FirstSentTime, ackElapsed = _now - p.DeliveredTime;
        long interval = Math.Max(sendElapsed, ackElapsed);
        long deliveredInInterval = _delivered - p.Delivered;
        long rate = interval > 0 && interval >= _rtt.MinOrInitial / 2 ? deliveredInInterval * 1_000_000 / interval : 0;
        _firstSentTime = p.Sent;

        // Losses of packets sent before this one are known now.
        while (_lost.TryPeek(out var lost) && lost.Sent < p.Sent)
        {
            _lost.Dequeue();
            _inFlight -= Mss;
            _cc.OnLoss(_now, Mss, lost.Congestive ? Mss : 0, lost.Sent, _inFlight);
        }

        _cc.OnAck(new AckEvent(_now, Mss, _inFlight, p.Sent, _delivered,
            new RateSample(rate, rate, deliveredInInterval, p.Delivered, sample, IsAppLimited: false), _rtt.MinOrInitial, _rtt.Smoothed));
        AfterAck?.Invoke(sample);
    }

    private readonly record struct Packet(long Sent, long Delivered, long DeliveredTime, long FirstSentTime, bool Congestive = false);
}
