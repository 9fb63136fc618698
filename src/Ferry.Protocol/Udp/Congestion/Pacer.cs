namespace Ferry.Protocol.Udp.Congestion;

/// <summary>
/// Token-bucket pacer. The bucket holds a burst of <see cref="BurstMicros"/> at the current rate (at least
/// <see cref="MinBurstPackets"/> packets), because shells can only sleep with millisecond granularity.
/// </summary>
public sealed class Pacer
{
    public const long BurstMicros = 2_000;
    public const int MinBurstPackets = 10;

    private readonly int _mss;
    private long _tokens;
    private long _last = long.MinValue;

    public Pacer(int maxDatagram)
    {
        _mss = maxDatagram;
        _tokens = MinBurstPackets * (long)maxDatagram;
    }

    /// <summary>Returns 0 if <paramref name="bytes"/> may go now, else the time at which it may.</summary>
    public long Check(long now, int bytes, long rate)
    {
        if (rate <= 0)
        {
            return 0;
        }

        Refill(now, rate);
        if (_tokens >= bytes)
        {
            return 0;
        }

        long wait = (bytes - _tokens) * 1_000_000 / rate + 1;
        return now + Math.Max(wait, 1);
    }

    public void OnSent(int bytes) => _tokens -= bytes;

    private void Refill(long now, long rate)
    {
        long burst = Math.Max(MinBurstPackets * (long)_mss, rate * BurstMicros / 1_000_000);
        if (_last == long.MinValue)
        {
            _last = now;
            _tokens = burst;
            return;
        }

        long elapsed = now - _last;
        if (elapsed > 0)
        {
            // Guard against overflow on long idle periods.
            long add = elapsed >= 1_000_000 ? burst : elapsed * rate / 1_000_000;
            _tokens = Math.Min(burst, _tokens + add);
            _last = now;
        }
    }
}
