namespace Ferry.Protocol.Udp.Congestion;

/// <summary>
/// A fixed ceiling on the rate of file data a sender puts on the wire (first copies and retransmissions), apart from
/// the congestion controller's pacing: a token bucket that may run into debt by one packet, so the bytes a packet
/// really carries are counted, not the largest size it could have had. The bucket holds at most
/// <see cref="BurstMicros"/> of the rate (at least <see cref="MinBurstBytes"/>): shells sleep with millisecond
/// granularity and a busy machine wakes them later still, and a late wake-up must not lose the time it overslept;
/// 20 ms is 2% of a second, so the rate still holds within a few percent over any second.
/// </summary>
public sealed class RateLimiter
{
    public const long BurstMicros = 20_000;
    public const long MinBurstBytes = 3_000;

    /// <summary>Largest ceiling taken, in bytes per second (about 8.8 Tbit/s): keeps the bucket's arithmetic below overflow.</summary>
    public const long MaxRate = 1L << 40;

    private long _rate;
    private long _tokens;
    private long _remainder; // token fractions, in bytes x microseconds, not yet a whole byte
    private long _last = long.MinValue;

    /// <summary>The ceiling in bytes per second; 0: none.</summary>
    public long Rate => _rate;

    /// <summary>Sets the ceiling (bytes per second; 0 or less: none). What the bucket holds is kept, up to the new burst.</summary>
    public void SetRate(long bytesPerSecond)
    {
        _rate = Math.Clamp(bytesPerSecond, 0, MaxRate);
        _tokens = Math.Min(_tokens, Burst);
    }

    private long Burst => Math.Max(MinBurstBytes, _rate * BurstMicros / 1_000_000);

    /// <summary>Returns 0 if a packet may go now, else the time at which one may.</summary>
    public long Check(long now)
    {
        if (_rate <= 0)
        {
            return 0;
        }

        Refill(now);
        if (_tokens > 0)
        {
            return 0;
        }

        // The debt is paid (and one byte more earned) at this time.
        long need = ((1 - _tokens) * 1_000_000) - _remainder;
        return now + Math.Max(1, (need + _rate - 1) / _rate);
    }

    /// <summary>Counts <paramref name="bytes"/> of file data sent.</summary>
    public void OnSent(int bytes)
    {
        if (_rate > 0)
        {
            _tokens -= bytes;
        }
    }

    private void Refill(long now)
    {
        if (_last == long.MinValue)
        {
            _last = now;
            _tokens = Burst;
            return;
        }

        long elapsed = now - _last;
        if (elapsed <= 0)
        {
            return;
        }

        _last = now;
        if (elapsed >= 1_000_000)
        {
            // A long idle period fills the bucket (and keeps the product below overflow).
            _tokens = Burst;
            _remainder = 0;
            return;
        }

        long earned = (elapsed * _rate) + _remainder;
        _tokens += earned / 1_000_000;
        _remainder = earned % 1_000_000;
        if (_tokens >= Burst)
        {
            _tokens = Burst;
            _remainder = 0;
        }
    }
}
