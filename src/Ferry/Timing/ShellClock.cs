namespace Ferry.Timing;

/// <summary>
/// The one clock of the I/O shells (listeners, clients, watchdogs, checkpoint timers, access checks, log stamps), read
/// from a <see cref="TimeProvider"/> so tests can drive it with a fake. <see cref="NowMicros"/> is the monotonic "now"
/// the protocol cores take: microseconds since the clock was made, plus a starting offset; <see cref="UtcNow"/> is the
/// wall clock for token expiry and log lines. Values of <see cref="NowMicros"/> compare only within one instance.
/// </summary>
public sealed class ShellClock
{
    private readonly long _origin;
    private readonly long _startMicros;

    /// <param name="time">The time source; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="startMicros">The value <see cref="NowMicros"/> has when the clock is made (for cores that treat 0 as "never").</param>
    public ShellClock(TimeProvider? time = null, long startMicros = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startMicros);
        Time = time ?? TimeProvider.System;
        _origin = Time.GetTimestamp();
        _startMicros = startMicros;
    }

    /// <summary>The time source, for timers and delays (<see cref="TimeProvider.CreateTimer"/>, <c>Task.Delay(…, Time)</c>).</summary>
    public TimeProvider Time { get; }

    /// <summary>Monotonic microseconds: the starting offset plus the time elapsed since the clock was made.</summary>
    public long NowMicros => _startMicros + Time.GetElapsedTime(_origin).Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>The wall clock (UTC): token expiry, access checks, log stamps.</summary>
    public DateTimeOffset UtcNow => Time.GetUtcNow();
}
