using System.Diagnostics;

namespace Ferry.Bench.WanEmu;

/// <summary>Monotonic nanoseconds (CLOCK_MONOTONIC through Stopwatch; its frequency is 1 GHz on Linux).</summary>
internal static class Clock
{
    private static readonly double s_nanosPerTick = 1e9 / Stopwatch.Frequency;

    public static long NowNanos()
    {
        long t = Stopwatch.GetTimestamp();
        return Stopwatch.Frequency == 1_000_000_000 ? t : (long)(t * s_nanosPerTick);
    }
}
