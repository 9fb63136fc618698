namespace Ferry.Protocol.Relay;

/// <summary>Counters of a relay client.</summary>
public sealed class RelayClientStats
{
    public long DatagramsReceived { get; internal set; }

    public long DroppedCorrupt { get; internal set; }

    public long DroppedMalformed { get; internal set; }

    public long MessagesReceived { get; internal set; }

    /// <summary>Messages received again (a retransmission after a lost ACK); never shown twice.</summary>
    public long DuplicateMessages { get; internal set; }

    public long PostDatagrams { get; internal set; }

    public long LinesRetransmitted { get; internal set; }

    public long AcksSent { get; internal set; }

    public long Reregistrations { get; internal set; }
}
