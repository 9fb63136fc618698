using Ferry.Protocol.Udp.Congestion;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>Tunables of a connection. Times are microseconds.</summary>
public sealed record ConnectionConfig
{
    /// <summary>Largest UDP payload this side sends or accepts; the smaller of both sides' values is used.</summary>
    public int MaxDatagram { get; init; } = Packet.DefaultMaxDatagram;

    /// <summary>The connection is closed when nothing arrives for this long.</summary>
    public long IdleTimeout { get; init; } = 30_000_000;

    /// <summary>
    /// Server: a connection must receive its REQUEST within this long of being created (the client's address was
    /// validated by its Retry token); otherwise the server forgets it and answers a stateless CLOSE(SERVER_BUSY).
    /// Shorter than <see cref="IdleTimeout"/> because a half-open connection costs the server a key exchange and a
    /// table slot and gives nothing back; 10 s still leaves room for four or five lost packets in the handshake.
    /// </summary>
    public long HandshakeTimeout { get; init; } = 10_000_000;

    /// <summary>RTT assumed before the first sample.</summary>
    public long InitialRtt { get; init; } = 100_000;

    /// <summary>ACK at least every this many ack-eliciting packets.</summary>
    public int AckEveryPackets { get; init; } = 8;

    /// <summary>Longest an ACK is delayed; the peer adds it to its probe timeout.</summary>
    public long MaxAckDelay { get; init; } = 2_000;

    /// <summary>Receive window: how far past the first missing byte the sender may send.</summary>
    public long ReceiveWindow { get; init; } = 64L << 20;

    /// <summary>
    /// Most disjoint byte ranges a connection keeps of received data (receiver) or acknowledged data (sender).
    /// Every hole a peer leaves costs one; a peer that scatters more (tiny DATA frames with gaps, or ACKs of every
    /// other packet) is cut off with FLOW_CONTROL. 65,536 ranges are 1 MiB; a whole 64 MiB receive window of
    /// full-size packets with every other one lost is about 23,000.
    /// </summary>
    public int MaxDataRanges { get; init; } = 65_536;

    /// <summary>"bbr" (default) or "newreno".</summary>
    public string CongestionControl { get; init; } = "bbr";

    /// <summary>Encryption: keys, and whether cleartext is asked for or allowed.</summary>
    public UdpSecurity Security { get; init; } = new();

    /// <summary>
    /// Upload client: send the file's first <see cref="Connection.EarlyDataWindow"/> bytes with the REQUEST, a round
    /// trip before ACCEPT (false: wait for ACCEPT and HAVE, as older clients do; tests compare the two).
    /// </summary>
    public bool EarlyData { get; init; } = true;

    /// <summary>Initial congestion window in packets.</summary>
    public int InitialWindowPackets { get; init; } = 32;

    public ICongestionController CreateController(int maxDatagram) => CongestionControl.ToLowerInvariant() switch
    {
        "newreno" or "reno" => new NewRenoController(maxDatagram, InitialWindowPackets),
        "bbr" => new BbrController(maxDatagram, InitialWindowPackets),
        _ => throw new ArgumentException($"unknown congestion controller '{CongestionControl}' (known: bbr, newreno)"),
    };
}
