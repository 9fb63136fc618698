namespace Ferry.Protocol.Relay;

/// <summary>A DELIVER in flight: sequences [First, First + Count), when it was sent, and whether it carried retransmitted data (Karn: no RTT sample).</summary>
internal readonly record struct RelaySentPacket(long First, int Count, long SentAt, bool Retransmit)
{
    public long End => First + Count;
}
