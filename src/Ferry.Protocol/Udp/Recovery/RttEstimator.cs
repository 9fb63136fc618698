namespace Ferry.Protocol.Udp.Recovery;

/// <summary>Round-trip time estimation as in RFC 9002 section 5. All times in microseconds.</summary>
public sealed class RttEstimator
{
    /// <summary>Timer granularity: no timer is set shorter than this.</summary>
    public const long Granularity = 1_000;

    private readonly long _initialRtt;

    public RttEstimator(long initialRtt)
    {
        _initialRtt = initialRtt;
        Smoothed = initialRtt;
        Variance = initialRtt / 2;
    }

    public bool HasSample { get; private set; }

    public long Latest { get; private set; }

    public long Smoothed { get; private set; }

    public long Variance { get; private set; }

    /// <summary>Lowest RTT seen (no ack-delay adjustment), or the initial RTT before the first sample.</summary>
    public long Min { get; private set; } = long.MaxValue;

    public long MinOrInitial => HasSample ? Min : _initialRtt;

    /// <summary>Adds a sample. <paramref name="ackDelay"/> is already bounded by the peer's max ack delay.</summary>
    public void Update(long sample, long ackDelay)
    {
        sample = Math.Max(sample, 1);
        Latest = sample;
        Min = Math.Min(Min, sample);
        if (!HasSample)
        {
            HasSample = true;
            Smoothed = sample;
            Variance = sample / 2;
            return;
        }

        long adjusted = sample >= Min + ackDelay ? sample - ackDelay : sample;
        Variance = (3 * Variance + Math.Abs(Smoothed - adjusted)) / 4;
        Smoothed = (7 * Smoothed + adjusted) / 8;
    }

    /// <summary>Probe timeout before backoff.</summary>
    public long ProbeTimeout(long maxAckDelay) => Smoothed + Math.Max(4 * Variance, Granularity) + maxAckDelay;

    /// <summary>Time after which a packet sent before a later acknowledged one counts as lost (9/8 RTT).</summary>
    public long LossDelay => Math.Max(Granularity, 9 * Math.Max(Smoothed, Latest) / 8);
}
