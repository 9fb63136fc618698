using Ferry.Protocol.Zmq;

namespace Ferry.Zmq;

/// <summary>
/// One parsed request on its way from the socket loop to a transfer actor. <see cref="Owner"/> owns the memory
/// <see cref="ZmqRequest.Data"/> points into (a received zmq frame) and must be disposed once the request is done.
/// </summary>
internal sealed class ZmqInbound
{
    public required string Client { get; init; }

    /// <summary>Human-readable peer ("127.0.0.1 id 0080000001") for logs and the engine's busy message.</summary>
    public required string PeerText { get; init; }

    public required ZmqRequest Request { get; init; }

    public required ZmqArrival Arrival { get; init; }

    /// <summary>The request came from a REQ socket: an empty delimiter frame must precede the reply.</summary>
    public bool Envelope { get; init; }

    /// <summary>Bytes charged against the socket loop's in-flight budget; returned with the reply.</summary>
    public int BudgetBytes { get; init; }

    public IDisposable? Owner { get; init; }

    /// <summary>
    /// Who sent it beyond the routing id (which a client may choose): with CURVE its public key (Z85, the "User-Id"
    /// our ZAP handler gives the connection), else its IP address. A transfer answers only its opener's identity.
    /// </summary>
    public string? PeerIdentity { get; init; }
}
