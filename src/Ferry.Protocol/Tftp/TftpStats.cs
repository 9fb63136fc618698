namespace Ferry.Protocol.Tftp;

/// <summary>Counters of one session, for logs, --json output and tests.</summary>
public sealed class TftpStats
{
    /// <summary>DATA packets sent, retransmissions included.</summary>
    public long DataPacketsSent { get; internal set; }

    /// <summary>DATA packets sent again for a block sent before.</summary>
    public long DataRetransmitted { get; internal set; }

    /// <summary>ACK packets sent.</summary>
    public long AcksSent { get; internal set; }

    /// <summary>Timer expiries (each one retransmits or, at the limit, drops the peer).</summary>
    public long Timeouts { get; internal set; }

    /// <summary>ACKs for a block already acknowledged: ignored, never answered (Sorcerer's Apprentice).</summary>
    public long DuplicateAcks { get; internal set; }

    /// <summary>ACKs outside the window (older than the last acknowledged block, or for a block never sent): ignored.</summary>
    public long StaleAcks { get; internal set; }

    /// <summary>DATA for blocks already received: ignored (never written twice).</summary>
    public long DuplicateData { get; internal set; }

    /// <summary>DATA ahead of the next expected block (a gap in the window): not written.</summary>
    public long OutOfOrderData { get; internal set; }

    /// <summary>Datagrams that did not parse or did not fit the state: dropped.</summary>
    public long Dropped { get; internal set; }
}
