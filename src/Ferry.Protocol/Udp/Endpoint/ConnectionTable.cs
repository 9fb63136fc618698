namespace Ferry.Protocol.Udp.Endpoint;

/// <summary>
/// The server's connections and the indexes over them: by the server's connection id (Data packets), by the client's
/// id (its Initials), open connections per client IP address, and the half-open ones (address validated, no REQUEST
/// yet) oldest first. Every connection is in all of them or in none.
/// </summary>
internal sealed class ConnectionTable
{
    private readonly Dictionary<ulong, Connection> _byId = new();
    private readonly Dictionary<ulong, Connection> _byClientId = new();
    private readonly List<Connection> _connections = new();
    private readonly Dictionary<UInt128, int> _perAddress = new();

    // Creation times only grow, so the head is both the one to evict and the next to time out.
    private readonly LinkedList<Connection> _halfOpen = new();

    public IReadOnlyList<Connection> All => _connections;

    public int Count => _connections.Count;

    public int HalfOpenCount => _halfOpen.Count;

    /// <summary>The oldest half-open connection, or null.</summary>
    public Connection? OldestHalfOpen => _halfOpen.First?.Value;

    public bool TryGetById(ulong id, out Connection connection) => _byId.TryGetValue(id, out connection!);

    public bool TryGetByClientId(ulong clientId, out Connection connection) => _byClientId.TryGetValue(clientId, out connection!);

    public bool ContainsId(ulong id) => _byId.ContainsKey(id);

    /// <summary>Open connections from <paramref name="address"/> (any port).</summary>
    public int CountFrom(UInt128 address) => _perAddress.GetValueOrDefault(address);

    /// <summary>Adds a new connection, half-open until <paramref name="handshakeDeadline"/>.</summary>
    public void Add(Connection connection, ulong clientId, long handshakeDeadline)
    {
        _byId[connection.LocalId] = connection;
        _byClientId[clientId] = connection;
        _connections.Add(connection);
        _perAddress[connection.Peer.Address] = CountFrom(connection.Peer.Address) + 1;
        connection.HandshakeDeadline = handshakeDeadline;
        connection.HalfOpenNode = _halfOpen.AddLast(connection);
    }

    /// <summary>A connection stops being half-open once its REQUEST arrived, or once it is closing anyway.</summary>
    public void LeaveHalfOpenIfDone(Connection c)
    {
        if (c.HasRequest || c.State != ConnectionState.Handshake)
        {
            LeaveHalfOpen(c);
        }
    }

    /// <summary>Removes <paramref name="c"/> from every index.</summary>
    public void Remove(Connection c)
    {
        LeaveHalfOpen(c);
        _connections.Remove(c);
        _byId.Remove(c.LocalId);
        _byClientId.Remove(c.RemoteId);
        if (--System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_perAddress, c.Peer.Address) == 0)
        {
            _perAddress.Remove(c.Peer.Address);
        }
    }

    private void LeaveHalfOpen(Connection c)
    {
        if (c.HalfOpenNode is { } node)
        {
            _halfOpen.Remove(node);
            c.HalfOpenNode = null;
        }
    }
}
