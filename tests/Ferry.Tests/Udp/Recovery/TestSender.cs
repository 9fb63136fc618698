using Ferry.Protocol.Udp.Congestion;
using Ferry.Protocol.Udp.Recovery;

namespace Ferry.Tests.Udp.Recovery;

/// <summary>
/// A sender that always has data, driving one congestion controller over a modelled path: a bottleneck of a fixed
/// rate with a drop-tail queue, a fixed round-trip delay behind it, and optional random loss after the bottleneck.
/// Every packet is acknowledged on its own; a lost packet is declared lost when a packet sent after it is
/// acknowledged. Rate samples come from the connection's own <see cref="DeliveryRateSampler"/>. Times in microseconds,
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
    private readonly DeliveryRateSampler _sampler = new();
    private long _now;
    private long _nextSend;
    private long _bottleneckBusyUntil;
    private long _inFlight;

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

    public long Delivered => _sampler.Delivered;

    public RttEstimator Rtt => _rtt;

    /// <summary>Called after every ACK the controller has seen, with the packet's RTT sample.</summary>
    public Action<long>? AfterAck { get; set; }

    /// <summary>Runs until <paramref name="until"/>; returns the bytes delivered meanwhile.</summary>
    public long RunUntil(long until)
    {
        long deliveredBefore = _sampler.Delivered;
        while (true)
        {
            long sendAt = _inFlight + Mss <= _cc.CongestionWindow ? Math.Max(_nextSend, _now) : long.MaxValue;
            long ackAt = _arrivals.TryPeek(out _, out long at) ? at : long.MaxValue;
            long next = Math.Min(sendAt, ackAt);
            if (next > until)
            {
                _now = until;
                return _sampler.Delivered - deliveredBefore;
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
        var sent = new SentPacket { TimeSent = _now, Size = Mss, AckEliciting = true };
        _sampler.OnPacketSent(ref sent, _now, _inFlight, fillsPath: true);
        var p = new Packet(sent);
        _inFlight += Mss;
        _cc.OnPacketSent(_now, Mss, _inFlight);
        long rate = Math.Max(_cc.PacingRate, 1);
        _nextSend = _now + Math.Max(1, Mss * 1_000_000L / rate);

        // The bottleneck: queued behind what it is still sending, or dropped when the queue is full.
        long start = Math.Max(_now, _bottleneckBusyUntil);
        long queued = (start - _now) * _bottleneckBytesPerSecond / 1_000_000;
        if (queued + Mss > _queueLimitBytes)
        {
            _lost.Enqueue(new Packet(sent, Congestive: true));
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
        _sampler.BeginAck();
        _sampler.OnPacketAcked(p.Sent, _now);
        long sample = _now - p.Sent.TimeSent;
        _rtt.Update(sample, 0);

        // Losses of packets sent before this one are known now.
        while (_lost.TryPeek(out var lost) && lost.Sent.TimeSent < p.Sent.TimeSent)
        {
            _lost.Dequeue();
            _inFlight -= Mss;
            if (!lost.Congestive)
            {
                _sampler.OnRandomLoss(Mss);
            }

            _cc.OnLoss(_now, Mss, lost.Congestive ? Mss : 0, lost.Sent.TimeSent, _inFlight);
        }

        _cc.OnAck(new AckEvent(_now, Mss, _inFlight, p.Sent.TimeSent, _sampler.Delivered, _sampler.EndAck(_rtt.MinOrInitial), _rtt.MinOrInitial, _rtt.Smoothed));
        AfterAck?.Invoke(sample);
    }

    private readonly record struct Packet(SentPacket Sent, bool Congestive = false);
}
