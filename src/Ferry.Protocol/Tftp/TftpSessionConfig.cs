namespace Ferry.Protocol.Tftp;

/// <summary>Behaviour switches of a session that depend on its role rather than on negotiation.</summary>
public sealed record TftpSessionConfig
{
    /// <summary>Consecutive timeouts after which the peer is dropped.</summary>
    public int MaxTimeouts { get; init; } = TftpLimits.MaxConsecutiveTimeouts;

    /// <summary>
    /// Consecutive timeouts after which a peer that never sent anything from its transfer ID is dropped. A server
    /// keeps this short: such a session may come from a spoofed request, and a real client that repeats its request
    /// later simply gets a fresh session.
    /// </summary>
    public int MaxTimeoutsBeforeReply { get; init; } = TftpLimits.MaxConsecutiveTimeouts;

    /// <summary>
    /// The retransmission interval doubles at each consecutive timeout up to this multiple of the negotiated
    /// timeout: 5 s, 10 s, 20 s, 20 s, then the peer is dropped (75 s of silence with the defaults).
    /// </summary>
    public int MaxBackoffMultiplier { get; init; } = 4;

    /// <summary>
    /// Whether timeouts retransmit before the peer's first packet from its transfer ID. A server keeps this false:
    /// until the client proves it receives at its address, the server sends exactly one packet per request it
    /// gets (a retransmitted request gets the first packet again), so a spoofed source gains no amplification from
    /// timers. Clients keep it true (they retransmit their request).
    /// </summary>
    public bool RetransmitBeforePeerReply { get; init; } = true;

    /// <summary>Receiver: hold the final ACK until <see cref="TftpReceiver.ConfirmComplete"/> (server uploads commit first).</summary>
    public bool ConfirmFinalBlock { get; init; }

    /// <summary>Receiver: after the final ACK, wait one timeout to re-acknowledge a retransmitted final block.</summary>
    public bool DallyAfterFinalAck { get; init; }

    /// <summary>Defaults for a server session.</summary>
    public static TftpSessionConfig Server { get; } = new()
    {
        RetransmitBeforePeerReply = false,
        MaxTimeoutsBeforeReply = 2,
        ConfirmFinalBlock = true,
        DallyAfterFinalAck = true,
    };

    /// <summary>Defaults for a client session.</summary>
    public static TftpSessionConfig Client { get; } = new();
}
