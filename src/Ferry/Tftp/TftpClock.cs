namespace Ferry.Tftp;

/// <summary>Microseconds since an arbitrary start, from a <see cref="TimeProvider"/>: the time the state machines take.</summary>
internal sealed class TftpClock
{
    private readonly TimeProvider _time;
    private readonly long _start;

    public TftpClock(TimeProvider time)
    {
        _time = time;
        _start = time.GetTimestamp();
    }

    public long NowMicros => _time.GetElapsedTime(_start).Ticks / TimeSpan.TicksPerMicrosecond;
}
