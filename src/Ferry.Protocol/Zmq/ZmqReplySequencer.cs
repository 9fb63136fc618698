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
    private readonly int _maxUnanswered;
    private readonly int _maxOwed;
    private long _nextSequence;

    /// <param name="comparer">Client key equality.</param>
    /// <param name="maxUnanswered">Requests a client may have unanswered before new ones must be refused (<see cref="TryArrive"/>).</param>
    /// <param name="maxOwed">Replies a client may be owed (refusals included) before new requests are dropped unanswered.</param>
    public ZmqReplySequencer(IEqualityComparer<TClient>? comparer = null, int maxUnanswered = ZmqLimits.MaxUnansweredPerClient, int maxOwed = ZmqLimits.MaxOwedPerClient)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxUnanswered, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOwed, maxUnanswered);
        _clients = new Dictionary<TClient, ClientQueue>(comparer);
        _maxUnanswered = maxUnanswered;
        _maxOwed = maxOwed;
    }

    /// <summary>Clients with at least one unanswered request.</summary>
    public int ClientCount => _clients.Count;

    /// <summary>Requests of <paramref name="client"/> without a released reply.</summary>
    public int Unanswered(TClient client) => _clients.TryGetValue(client, out var q) ? q.Outstanding.Count : 0;

    /// <summary>
    /// Admits a request under the per-client limits. Returns false when the client is already owed the maximum
    /// number of replies: the request must be dropped without a reply (it got no place in the order). Otherwise
    /// returns its stamp; <paramref name="overLimit"/> then says it must be answered with a refusal because the client
    /// has more than the allowed number of requests unanswered.
    /// </summary>
    public bool TryArrive(TClient client, out ZmqArrival arrival, out bool overLimit)
    {
        int owed = Unanswered(client);
        if (owed >= _maxOwed)
        {
            arrival = default;
            overLimit = true;
            return false;
        }

        arrival = Arrive(client);
        overLimit = owed + 1 > _maxUnanswered;
        return true;
    }

    /// <summary>Registers a request from <paramref name="client"/> and returns its stamp (no limits applied).</summary>
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
