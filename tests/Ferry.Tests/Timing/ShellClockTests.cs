using Ferry.Timing;
using Microsoft.Extensions.Time.Testing;

namespace Ferry.Tests.Timing;

public class ShellClockTests
{
    // A start far from zero: a clock that used the raw timestamp instead of the time since it was made would show it.
    private static FakeTimeProvider NewTime() => new(new DateTimeOffset(2031, 7, 4, 3, 2, 1, TimeSpan.Zero));

    [Fact]
    public void NowMicros_counts_microseconds_from_the_start_offset()
    {
        var time = NewTime();
        var clock = new ShellClock(time, startMicros: 1_000_000);
        Assert.Equal(1_000_000, clock.NowMicros);

        time.Advance(TimeSpan.FromMicroseconds(1));
        Assert.Equal(1_000_001, clock.NowMicros);

        time.Advance(TimeSpan.FromMilliseconds(2.5));
        Assert.Equal(1_002_501, clock.NowMicros);

        time.Advance(TimeSpan.FromHours(30));
        Assert.Equal(1_002_501 + 30L * 3600 * 1_000_000, clock.NowMicros);
    }

    [Fact]
    public void NowMicros_starts_at_zero_by_default_and_never_goes_back_when_the_wall_clock_does()
    {
        var time = NewTime();
        var clock = new ShellClock(time);
        Assert.Equal(0, clock.NowMicros);

        time.Advance(TimeSpan.FromSeconds(3));
        long before = clock.NowMicros;
        Assert.Equal(3_000_000, before);

        // FakeTimeProvider's timestamp follows its UTC time and refuses to go back: the same guarantee
        // the system's monotonic timestamp gives; reading twice without an advance gives the same value.
        Assert.Throws<ArgumentOutOfRangeException>(() => time.SetUtcNow(time.GetUtcNow() - TimeSpan.FromSeconds(1)));
        Assert.Equal(before, clock.NowMicros);
    }

    [Fact]
    public void UtcNow_is_the_providers_wall_clock()
    {
        var time = NewTime();
        var clock = new ShellClock(time);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(new DateTimeOffset(2031, 7, 4, 3, 7, 1, TimeSpan.Zero), clock.UtcNow);
        Assert.Same(time, clock.Time);
    }

    [Fact]
    public void Each_clock_counts_from_when_it_was_made()
    {
        var time = NewTime();
        var first = new ShellClock(time);
        time.Advance(TimeSpan.FromSeconds(1));
        var second = new ShellClock(time);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2_000_000, first.NowMicros);
        Assert.Equal(1_000_000, second.NowMicros);
    }

    [Fact]
    public void A_negative_start_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShellClock(NewTime(), startMicros: -1));

    [Fact]
    public void The_system_clock_moves_forward()
    {
        var clock = new ShellClock();
        long a = clock.NowMicros;
        Thread.SpinWait(100_000);
        Assert.True(clock.NowMicros >= a);
        Assert.Same(TimeProvider.System, clock.Time);
    }
}
