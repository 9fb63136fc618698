using Ferry.Protocol.Zmq;

namespace Ferry.Zmq;

/// <summary>What actors tell the socket loop: a reply to send (in its client's order), or that an actor went idle.</summary>
internal readonly record struct ZmqOutbound
{
    /// <summary>Reply to request <see cref="Sequence"/> of <see cref="Client"/>.</summary>
    public static ZmqOutbound ForReply(ZmqInbound request, ZmqReply reply) => new()
    {
        Client = request.Client,
        Sequence = request.Arrival.Sequence,
        Reply = reply,
        Envelope = request.Envelope,
        ReleasedBytes = request.BudgetBytes,
    };

    /// <summary><paramref name="actor"/> holds no transfer and has handled <paramref name="processed"/> requests.</summary>
    public static ZmqOutbound ForIdle(ZmqTransferActor actor, long processed) => new() { IdleActor = actor, Processed = processed, Client = actor.Client };

    public string Client { get; init; }

    public long Sequence { get; init; }

    public ZmqReply Reply { get; init; }

    public bool Envelope { get; init; }

    public int ReleasedBytes { get; init; }

    public ZmqTransferActor? IdleActor { get; init; }

    public long Processed { get; init; }
}
