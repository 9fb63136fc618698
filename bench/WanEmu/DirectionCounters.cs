namespace Ferry.Bench.WanEmu;

/// <summary>
/// Counters of one direction. Written only by that direction's thread; read by the reporting thread with
/// <see cref="Snapshot"/> (64-bit reads are atomic on the 64-bit targets this runs on; a report may be a
/// packet or two behind, which is fine for counters).
/// </summary>
internal sealed class DirectionCounters
{
    public long PacketsIn;
    public long BytesIn;
    public long PacketsOut;
    public long BytesOut;
    public long QueueDrops;
    public long QueueDropBytes;
    public long Lost;
    public long LostBytes;
    public long LostBurst;
    public long Duplicated;
    public long Corrupted;
    public long Reordered;
    public long Overflow;
    public long WriteErrors;
    public long MaxQueueDepth;
    public long QueueDepth;
    public long InFlight;

    /// <summary>Delivery lateness (actual write time minus scheduled time) in microseconds, log2 buckets:
    /// bucket i holds lateness in [2^(i-1), 2^i) µs, bucket 0 holds under 1 µs.</summary>
    public long[] LatenessBuckets = new long[32];
    public long MaxLatenessMicros;
    public long LatenessSumMicros;

    public void RecordLateness(long nanos)
    {
        long us = nanos / 1000;
        int bucket = us <= 0 ? 0 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)us);
        LatenessBuckets[Math.Min(bucket, LatenessBuckets.Length - 1)]++;
        LatenessSumMicros += us;
        if (us > MaxLatenessMicros)
        {
            MaxLatenessMicros = us;
        }
    }

    public DirectionCounters Snapshot()
    {
        var c = (DirectionCounters)MemberwiseClone();
        c.LatenessBuckets = (long[])LatenessBuckets.Clone(); // MemberwiseClone shares the array
        return c;
    }

    /// <summary>Upper bound (µs) of the bucket holding the given quantile of delivered packets.</summary>
    public long LatenessQuantileMicros(double q)
    {
        long total = 0;
        foreach (long n in LatenessBuckets)
        {
            total += n;
        }

        if (total == 0)
        {
            return 0;
        }

        long target = (long)Math.Ceiling(total * q);
        long seen = 0;
        for (int i = 0; i < LatenessBuckets.Length; i++)
        {
            seen += LatenessBuckets[i];
            if (seen >= target)
            {
                return i == 0 ? 1 : 1L << i;
            }
        }

        return MaxLatenessMicros;
    }
}
