namespace Ferry.Udp;

/// <summary>Microseconds from a <see cref="TimeProvider"/>'s monotonic timestamp: the only clock the UDP shells read.</summary>
internal sealed class MonotonicClock
{
    private readonly TimeProvider _time;
    private readonly long _origin;

    public MonotonicClock(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _origin = _time.GetTimestamp();
    }

    public long NowMicros => (long)((_time.GetTimestamp() - _origin) * (1_000_000.0 / _time.TimestampFrequency));
}
