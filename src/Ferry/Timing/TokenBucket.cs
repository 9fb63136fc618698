namespace Ferry.Timing;

/// <summary>
/// A rate limit shared by the streams of one transfer (or job): each stream reserves the bytes it is about to send or
/// read and waits until the bucket has earned them. Reservations may run the bucket into debt, so every caller waits
/// its turn in the order it asked and the sum over all streams never exceeds the rate by more than one burst
/// (<see cref="BurstMicros"/> of the rate, at least <see cref="MinBurstBytes"/>). Time comes only from the
/// <see cref="TimeProvider"/> (tests pass a fake one). Thread-safe; the rate may change at any time.
/// </summary>
public sealed class TokenBucket
{
    /// <summary>How much unused rate the bucket keeps: 50 ms, so a stream that slept late does not lose what it was owed.</summary>
    public const long BurstMicros = 50_000;

    public const long MinBurstBytes = 16 * 1024;

    private readonly TimeProvider _time;
    private readonly Lock _sync = new();
    private long _rate;
    private double _tokens;
    private long _last;

    /// <param name="bytesPerSecond">The rate; 0: none (<see cref="WaitAsync"/> never waits).</param>
    public TokenBucket(TimeProvider time, long bytesPerSecond)
    {
        _time = time;
        _last = time.GetTimestamp();
        SetRate(bytesPerSecond);
        _tokens = Burst;
    }

    /// <summary>Bytes per second; 0: none.</summary>
    public long Rate => Interlocked.Read(ref _rate);

    private double Burst => Math.Max(MinBurstBytes, _rate * (BurstMicros / 1e6));

    /// <summary>Sets the rate (bytes per second; 0: none); reservations made before keep their time.</summary>
    public void SetRate(long bytesPerSecond)
    {
        lock (_sync)
        {
            RefillLocked();
            _rate = Math.Max(0, bytesPerSecond);
            _tokens = Math.Min(_tokens, Burst);
        }
    }

    /// <summary>Reserves <paramref name="bytes"/> and returns how long the caller must wait before moving them.</summary>
    public TimeSpan Reserve(long bytes)
    {
        lock (_sync)
        {
            if (_rate <= 0)
            {
                return TimeSpan.Zero;
            }

            RefillLocked();
            _tokens -= bytes;
            return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / _rate);
        }
    }

    /// <summary>Reserves <paramref name="bytes"/> and waits until they may move.</summary>
    public async ValueTask WaitAsync(long bytes, CancellationToken ct)
    {
        var delay = Reserve(bytes);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>How many bytes a caller should move per reservation: 20 ms of the rate (at least 16 KiB), at most <paramref name="chunk"/>.</summary>
    public int Piece(int chunk)
    {
        long rate = Rate;
        return rate <= 0 ? chunk : (int)Math.Clamp(rate / 50, Math.Min(chunk, MinBurstBytes), chunk);
    }

    private void RefillLocked()
    {
        long now = _time.GetTimestamp();
        double elapsed = (now - _last) / (double)_time.TimestampFrequency;
        _last = now;
        if (elapsed > 0 && _rate > 0)
        {
            _tokens = Math.Min(Burst, _tokens + (elapsed * _rate));
        }
    }
}
