namespace Ferry.Relay;

/// <summary>Microseconds from a <see cref="TimeProvider"/>'s monotonic timestamp: the "now" every protocol core takes.</summary>
internal sealed class MonotonicClock(TimeProvider time)
{
    private readonly long _origin = time.GetTimestamp();

    public TimeProvider Time { get; } = time;

    public long NowMicros
    {
        get
        {
            long ticks = Time.GetTimestamp() - _origin;
            return (long)(ticks * (1_000_000.0 / Time.TimestampFrequency)) + 1_000_000;
        }
    }
}
