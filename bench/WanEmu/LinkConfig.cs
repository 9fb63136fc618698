namespace Ferry.Bench.WanEmu;

/// <summary>The impairments of one direction of the emulated link. Probabilities are 0..1.</summary>
internal sealed class LinkConfig
{
    /// <summary>Bottleneck rate in bits per second of IP packet bytes; 0 means no bottleneck (and no queue).</summary>
    public long RateBitsPerSecond { get; set; }

    /// <summary>One-way propagation delay added after the bottleneck.</summary>
    public long DelayNanos { get; set; }

    /// <summary>Drop-tail queue limit in packets, counting the packet being serialized.</summary>
    public int QueuePackets { get; set; } = 1000;

    /// <summary>Independent random loss per packet.</summary>
    public double Loss { get; set; }

    /// <summary>Bursty loss on top of <see cref="Loss"/>; null for none.</summary>
    public GilbertElliottConfig? Burst { get; set; }

    /// <summary>
    /// False (default): packets are lost on the wire after the bottleneck, so a lost packet has used link capacity
    /// (a lossy link). True: lost before the queue, like netem's loss in front of its rate limiter.
    /// </summary>
    public bool LossBeforeQueue { get; set; }

    /// <summary>Probability that a packet is held back by <see cref="ReorderDelayNanos"/> so later ones overtake it.</summary>
    public double Reorder { get; set; }

    public long ReorderDelayNanos { get; set; } = 1_000_000;

    /// <summary>Probability that a packet is sent twice (the copy also goes through the queue).</summary>
    public double Duplicate { get; set; }

    /// <summary>Probability that one random bit after the IP header is flipped.</summary>
    public double Corrupt { get; set; }

    public LinkConfig Clone()
    {
        var c = (LinkConfig)MemberwiseClone();
        c.Burst = Burst?.Clone();
        return c;
    }

    public override string ToString()
    {
        string rate = RateBitsPerSecond == 0 ? "unlimited" : Units.FormatRate(RateBitsPerSecond);
        string s = $"rate {rate}, delay {DelayNanos / 1e6:0.###} ms, queue {QueuePackets} pkts, loss {Loss * 100:0.###}%"
            + (LossBeforeQueue ? " (before queue)" : "");
        if (Burst is not null)
        {
            s += $", burst GE(p={Burst.GoodToBad * 100:0.###}%, r={Burst.BadToGood * 100:0.###}%, bad-loss={Burst.LossInBad * 100:0.###}%, good-loss={Burst.LossInGood * 100:0.###}%)";
        }

        if (Reorder > 0)
        {
            s += $", reorder {Reorder * 100:0.###}% by {ReorderDelayNanos / 1e6:0.###} ms";
        }

        if (Duplicate > 0)
        {
            s += $", duplicate {Duplicate * 100:0.###}%";
        }

        if (Corrupt > 0)
        {
            s += $", corrupt {Corrupt * 100:0.###}%";
        }

        return s;
    }
}
