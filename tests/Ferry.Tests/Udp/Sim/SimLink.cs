namespace Ferry.Tests.Udp.Sim;

/// <summary>A one-way link: bottleneck queue, delay, loss, duplication, corruption. Deterministic for a given RNG.</summary>
public sealed class SimLink
{
    private readonly LinkConfig _config;
    private readonly Random _rng;
    private readonly PriorityQueue<byte[], (long Time, long Seq)> _inFlight = new();
    private long _busyUntil;
    private long _seq;
    private bool _bad;

    public SimLink(LinkConfig config, Random rng)
    {
        _config = config;
        _rng = rng;
    }

    public long Sent { get; private set; }

    public long Dropped { get; private set; }

    public long Corrupted { get; private set; }

    public long Duplicated { get; private set; }

    public long QueueDrops { get; private set; }

    /// <summary>IP bytes (datagram + 28) that left the bottleneck.</summary>
    public long DepartedBytes { get; private set; }

    /// <summary>When positive, <see cref="Timeline"/> records the IP bytes leaving the bottleneck per bucket of this length.</summary>
    public long BucketMicros { get; set; }

    /// <summary>Time of bucket 0 of <see cref="Timeline"/>.</summary>
    public long Origin { get; set; }

    public List<long> Timeline { get; } = new();

    public long NextArrival => _inFlight.TryPeek(out _, out var p) ? p.Time : long.MaxValue;

    public void Send(long now, ReadOnlySpan<byte> datagram)
    {
        Sent++;
        if (datagram.Length > _config.Mtu || InBlackout(now) || (!_config.LossAfterQueue && Lost()))
        {
            Dropped++;
            return;
        }

        long departure = now;
        if (_config.RateBps > 0)
        {
            long tx = (datagram.Length + 28) * 8L * 1_000_000 / _config.RateBps;
            long start = Math.Max(now, _busyUntil);
            long queued = (start - now) / Math.Max(tx, 1);
            if (queued >= _config.QueuePackets)
            {
                QueueDrops++;
                return;
            }

            _busyUntil = start + tx;
            departure = _busyUntil;
            DepartedBytes += datagram.Length + 28;
            if (BucketMicros > 0)
            {
                // Link utilisation timeline: IP bytes leaving the bottleneck per bucket.
                long bucket = (departure - Origin) / BucketMicros;
                while (Timeline.Count <= bucket)
                {
                    Timeline.Add(0);
                }

                Timeline[(int)bucket] += datagram.Length + 28;
            }
        }

        if (_config.LossAfterQueue && Lost())
        {
            Dropped++;
            return;
        }

        Enqueue(departure, datagram.ToArray());
        if (_config.Duplicate > 0 && _rng.NextDouble() < _config.Duplicate)
        {
            Duplicated++;
            Enqueue(departure, datagram.ToArray());
        }
    }

    /// <summary>Delivers every datagram due at or before <paramref name="now"/>.</summary>
    public IEnumerable<byte[]> Deliver(long now)
    {
        while (_inFlight.TryPeek(out var d, out var p) && p.Time <= now)
        {
            _inFlight.Dequeue();
            yield return d;
        }
    }

    private void Enqueue(long departure, byte[] data)
    {
        if (_config.Corrupt > 0 && _rng.NextDouble() < _config.Corrupt)
        {
            Corrupted++;
            data[_rng.Next(data.Length)] ^= (byte)(1 << _rng.Next(8));
        }

        long arrival = departure + _config.Delay + (_config.Jitter > 0 ? (long)(_rng.NextDouble() * _config.Jitter) : 0);
        _inFlight.Enqueue(data, (arrival, _seq++));
    }

    private bool InBlackout(long now)
    {
        foreach (var (s, e) in _config.Blackouts)
        {
            if (now >= s && now < e)
            {
                return true;
            }
        }

        return false;
    }

    private bool Lost()
    {
        if (_config.BurstEnter > 0)
        {
            _bad = _bad ? _rng.NextDouble() >= _config.BurstLeave : _rng.NextDouble() < _config.BurstEnter;
            if (_bad && _rng.NextDouble() < _config.BurstLoss)
            {
                return true;
            }
        }

        return _config.Loss > 0 && _rng.NextDouble() < _config.Loss;
    }
}
