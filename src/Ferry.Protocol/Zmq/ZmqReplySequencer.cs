namespace Ferry.Protocol.Zmq;

/// <summary>
/// Keeps each client's replies in the order its requests arrived, although different actors answer them at different
/// times; so a client may pipeline requests and match replies by order. Pure bookkeeping for the socket loop: every
/// arrival gets a sequence number and its <see cref="ZmqArrival"/> stamp; completed replies are released only when all
/// earlier ones of the same client have been released. A client with nothing outstanding has no state at all.
/// </summary>
/// <typeparam name="TClient">Client key (the ROUTER routing id).</typeparam>
/// <typeparam name="TReply">Whatever the socket loop sends back.</typeparam>
public sealed class ZmqReplySequencer<TClient, TReply>
    where TClient : notnull
{
    private readonly Dictionary<TClient, ClientQueue> _clients;
    private long _nextSequence;

    public ZmqReplySequencer(IEqualityComparer<TClient>? comparer = null)
    {
        _clients = new Dictionary<TClient, ClientQueue>(comparer);
    }

    /// <summary>Clients with at least one unanswered request.</summary>
    public int ClientCount => _clients.Count;

    /// <summary>Requests of <paramref name="client"/> without a released reply.</summary>
    public int Unanswered(TClient client) => _clients.TryGetValue(client, out var q) ? q.Outstanding.Count : 0;

    /// <summary>Registers a request from <paramref name="client"/> and returns its stamp.</summary>
    public ZmqArrival Arrive(TClient client)
    {
        long seq = _nextSequence++;
        if (!_clients.TryGetValue(client, out var q))
        {
            q = new ClientQueue();
            _clients.Add(client, q);
        }

        long first = q.Outstanding.Count > 0 ? q.Outstanding.Peek() : seq;
        q.Outstanding.Enqueue(seq);
        return new ZmqArrival(seq, first);
    }

    /// <summary>
    /// Records the reply to request <paramref name="sequence"/> of <paramref name="client"/> and appends to
    /// <paramref name="release"/> every reply of that client that may now be sent, in order.
    /// </summary>
    public void Complete(TClient client, long sequence, TReply reply, List<TReply> release)
    {
        if (!_clients.TryGetValue(client, out var q) || !q.Pending.TryAdd(sequence, reply))
        {
            throw new InvalidOperationException($"reply to an unknown or already answered request {sequence}");
        }

        while (q.Outstanding.Count > 0 && q.Pending.Remove(q.Outstanding.Peek(), out var ready))
        {
            q.Outstanding.Dequeue();
            release.Add(ready);
        }

        if (q.Outstanding.Count == 0)
        {
            _clients.Remove(client);
        }
    }

    private sealed class ClientQueue
    {
        public Queue<long> Outstanding { get; } = new();

        public Dictionary<long, TReply> Pending { get; } = new();
    }
}
