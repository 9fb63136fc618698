using Ferry.Protocol.Udp.Endpoint;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>Counters of a server endpoint: what arrived, and why datagrams were dropped.</summary>
public sealed class EndpointStats
{
    public long Datagrams;
    public long Malformed;
    public long BadChecksum;
    public long UnknownConnection;
    public long ShortInitial;
    public long RetriesSent;
    public long InvalidTokens;
    public long ConnectionsCreated;
    public long RefusedFull;
    public long StatelessDropped;

    /// <summary>Half-open connections forgotten to make room for a newer one (the cap was reached).</summary>
    public long HalfOpenEvicted;

    /// <summary>Half-open connections forgotten because their REQUEST did not arrive within the handshake timeout.</summary>
    public long HandshakeTimeouts;

    /// <summary>Most half-open connections held at once.</summary>
    public long HalfOpenPeak;

    /// <summary>First HELLOs answered at once with a stateless SERVER_HELLO (a Handshake packet) instead of a Retry.</summary>
    public long StatelessHellos;

    /// <summary>Offers of a stateless SERVER_HELLO answered with a Retry because the budget for them was spent (a flood).</summary>
    public long StatelessHellosOverBudget;

    /// <summary>Connections opened by a handshake token (the client's first protected Initial).</summary>
    public long HandshakeTokensAccepted;
}

/// <summary>
/// The server side of the UDP protocol for many clients, still without I/O: routes datagrams to connections by
/// connection id, validates client addresses before creating any state (<see cref="StatelessResponder"/>), admits
/// connections within the server's limits (<see cref="Admission"/>), keeps them in one <see cref="ConnectionTable"/>,
/// and multiplexes their output. The shell owns the socket and the clock.
/// </summary>
public sealed class ServerEndpoint
{
    /// <summary>Default of <see cref="MaxConnections"/>.</summary>
    public const int DefaultMaxConnections = 1024;

    /// <summary>Default of <see cref="MaxConnectionsPerAddress"/>.</summary>
    public const int DefaultMaxConnectionsPerAddress = 64;

    /// <summary>Default of <see cref="MaxHalfOpen"/>.</summary>
    public const int DefaultMaxHalfOpen = 256;

    /// <summary>Default of <see cref="StatelessHellosPerSecond"/>.</summary>
    public const int DefaultStatelessHellosPerSecond = 500;

    private readonly ConnectionConfig _config;
    private readonly Func<ulong> _newId;
    private readonly ConnectionTable _table = new();
    private readonly Admission _admission;
    private readonly StatelessResponder _stateless;
    private byte[]? _scratch;
    private int _roundRobin;
    private int _eventCursor;

    public ServerEndpoint(ConnectionConfig config, byte[] retryKey, Func<ulong> newId, int maxConnections = DefaultMaxConnections,
        int maxConnectionsPerAddress = DefaultMaxConnectionsPerAddress, int maxHalfOpen = DefaultMaxHalfOpen,
        int statelessHellosPerSecond = DefaultStatelessHellosPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHalfOpen, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(statelessHellosPerSecond);
        _config = config;
        _newId = newId;
        _admission = new Admission(maxConnections, maxConnectionsPerAddress, maxHalfOpen);
        _stateless = new StatelessResponder(config, retryKey, statelessHellosPerSecond, Stats);
    }

    /// <summary>Connections open at once; an Initial beyond gets a stateless CLOSE with SERVER_BUSY.</summary>
    public int MaxConnections => _admission.MaxConnections;

    /// <summary>Connections open at once from one IP address (after address validation); beyond, SERVER_BUSY.</summary>
    public int MaxConnectionsPerAddress => _admission.MaxConnectionsPerAddress;

    /// <summary>
    /// Half-open connections (address validated, no REQUEST yet) held at once, whole server. A new one beyond evicts
    /// the oldest: a peer that passes the Retry and then stalls can hold a slot for at most
    /// <see cref="ConnectionConfig.HandshakeTimeout"/>, and all such peers together at most this many slots.
    /// </summary>
    public int MaxHalfOpen => _admission.MaxHalfOpen;

    /// <summary>
    /// How many first HELLOs per second (burst: a fifth of a second's worth, at least 16) get a stateless SERVER_HELLO
    /// at once; beyond, and for clients that do not offer to take one, a Retry validates the address first. Each costs
    /// the server a signature and a key agreement for an address it has not validated, so a flood of spoofed HELLOs
    /// spends this budget and then only costs a MAC each, as before. 0: always Retry.
    /// </summary>
    public int StatelessHellosPerSecond => _stateless.StatelessHellosPerSecond;

    /// <summary>Half-open connections now.</summary>
    public int HalfOpenCount => _table.HalfOpenCount;

    public EndpointStats Stats { get; } = new();

    public IReadOnlyList<Connection> Connections => _table.All;

    /// <summary>Handles one datagram from <paramref name="peer"/>. Never throws on any input.</summary>
    public void HandleDatagram(long now, ReadOnlySpan<byte> datagram, in PeerAddress peer)
    {
        Stats.Datagrams++;
        var error = Packet.TryParse(datagram, out var packet);
        if (error != PacketError.None)
        {
            if (error == PacketError.BadChecksum)
            {
                Stats.BadChecksum++;
            }
            else
            {
                Stats.Malformed++;
            }

            return;
        }

        switch (packet.Type)
        {
            case PacketType.Data:
                if (_table.TryGetById(packet.DestinationId, out var c) && c.Peer == peer)
                {
                    Deliver(c, now, packet);
                }
                else
                {
                    Stats.UnknownConnection++;
                }

                break;
            case PacketType.Initial:
                HandleInitial(now, datagram.Length, packet, peer);
                break;
            default:
                Stats.Malformed++;
                break;
        }
    }

    private void Deliver(Connection c, long now, in PacketView packet)
    {
        c.HandlePacket(now, packet);
        _table.LeaveHalfOpenIfDone(c);
    }

    private void HandleInitial(long now, int datagramLength, in PacketView packet, in PeerAddress peer)
    {
        if (datagramLength != Packet.MinInitialSize)
        {
            // Every Initial is exactly 1200 bytes, on a connection or not: an unpadded one could make us an amplifier,
            // and a longer one would carry a REQUEST larger than the protocol allows.
            if (datagramLength < Packet.MinInitialSize)
            {
                Stats.ShortInitial++;
            }
            else
            {
                Stats.Malformed++;
            }

            return;
        }

        if (_table.TryGetByClientId(packet.SourceId, out var existing))
        {
            if (existing.Peer == peer)
            {
                Deliver(existing, now, packet);
            }
            else
            {
                Stats.UnknownConnection++;
            }

            return;
        }

        if (packet.Token.Length == HandshakeTokens.TokenLength)
        {
            // The first protected packet of a client that got a stateless SERVER_HELLO: the token holds the session's
            // secrets, and the packet decrypting with them proves the client received the hello at its address.
            if (!packet.Protected || !_stateless.HandshakeTokens.TryOpen(packet.Token, peer, packet.SourceId, now, out var c2s, out var s2c))
            {
                Stats.InvalidTokens++;
                return;
            }

            Stats.HandshakeTokensAccepted++;
            var keys = Security.SessionKeys.For(isClient: false, c2s, s2c, _config.Security.EpochBits);
            if (CreateConnection(now, packet, peer, keys) is { } adopted)
            {
                Deliver(adopted, now, packet);
            }

            return;
        }

        bool offered = packet.Token.SequenceEqual(Packet.StatelessHelloOffer);
        if (offered && !packet.Protected && _stateless.TrySendHello(now, packet, peer))
        {
            return;
        }

        if (!_stateless.IsValidRetryToken(packet.Token, peer, packet.SourceId, now))
        {
            if (!packet.Token.IsEmpty && !offered)
            {
                Stats.InvalidTokens++;
            }

            _stateless.SendRetry(now, peer, packet.SourceId);
            return;
        }

        if (CreateConnection(now, packet, peer, keys: null) is { } connection)
        {
            Deliver(connection, now, packet);
        }
    }

    /// <summary>
    /// Creates the connection of a client whose address is validated (a Retry token, or a handshake token whose
    /// <paramref name="keys"/> it then holds), within the limits; null (and a SERVER_BUSY sent) when over them.
    /// </summary>
    private Connection? CreateConnection(long now, in PacketView packet, in PeerAddress peer, Security.SessionKeys? keys)
    {
        if (_admission.MustEvictHalfOpen(_table))
        {
            // Oldest first: it had the longest to finish, and a flood's newest entries push out its oldest.
            Stats.HalfOpenEvicted++;
            Forget(_table.OldestHalfOpen!, "too many handshakes in progress; yours was not finished in time: try again", now);
        }

        if (_admission.Refusal(_table, peer.Address) is { } busy)
        {
            Stats.RefusedFull++;
            if (keys is null)
            {
                _stateless.SendClose(peer, packet.SourceId, TransferError.ServerBusy, busy);
            }
            else
            {
                // This client already has keys and drops cleartext: refuse with a protected CLOSE.
                var refused = Connection.CreateServer(_config, 1, packet.SourceId, peer, now);
                refused.AdoptKeys(keys);
                var close = BusyClose(refused, busy, now);
                refused.Abandon();
                if (close.Length > 0)
                {
                    _stateless.Enqueue(peer, close);
                }
            }

            return null;
        }

        ulong id;
        do
        {
            id = _newId();
        }
        while (id == 0 || _table.ContainsId(id));

        var connection = Connection.CreateServer(_config, id, packet.SourceId, peer, now);
        if (keys is not null)
        {
            connection.AdoptKeys(keys);
        }

        _table.Add(connection, packet.SourceId, now + _config.HandshakeTimeout);
        Stats.ConnectionsCreated++;
        Stats.HalfOpenPeak = Math.Max(Stats.HalfOpenPeak, _table.HalfOpenCount);
        return connection;
    }

    /// <summary>
    /// Drops a half-open connection from every table at once (no closing period: it would hold the slot the eviction
    /// is for) and tells its validated address with one CLOSE(SERVER_BUSY), written by the connection itself: with its
    /// next packet number (it may have sent ACKs already, and a number is never used twice), protected when it already
    /// has session keys (the client then drops cleartext, so only a protected CLOSE reaches it), else in cleartext.
    /// The shell never saw it (no REQUEST, so no event), so it has nothing to release.
    /// </summary>
    private void Forget(Connection c, string message, long now)
    {
        byte[] close = BusyClose(c, message, now);
        c.Abandon();
        _table.Remove(c);
        if (close.Length > 0)
        {
            _stateless.Enqueue(c.Peer, close);
        }
    }

    /// <summary>Closes <paramref name="c"/> with SERVER_BUSY and returns its CLOSE datagram (protected once it has session keys).</summary>
    private byte[] BusyClose(Connection c, string message, long now)
    {
        c.Close(TransferError.ServerBusy, message, now);
        _scratch ??= new byte[Packet.MaxMaxDatagram];
        return _scratch.AsSpan(0, c.PollTransmit(now, _scratch)).ToArray();
    }

    /// <summary>Next datagram to send and its destination; 0 when nothing is ready.</summary>
    public int PollTransmit(long now, Span<byte> buffer, out PeerAddress destination)
    {
        if (_stateless.TryDequeue(out destination, out var datagram))
        {
            datagram.CopyTo(buffer);
            return datagram.Length;
        }

        var connections = _table.All;
        int n = connections.Count;
        for (int i = 0; i < n; i++)
        {
            var c = connections[(_roundRobin + i) % n];
            int length = c.PollTransmit(now, buffer);
            if (length > 0)
            {
                _roundRobin = (_roundRobin + i + 1) % n;
                destination = c.Peer;
                return length;
            }
        }

        destination = default;
        return 0;
    }

    /// <summary>Earliest time any connection needs attention (0: now).</summary>
    public long NextTimeout
    {
        get
        {
            if (_stateless.HasPending)
            {
                return 0;
            }

            long t = _table.OldestHalfOpen is { } oldest ? oldest.HandshakeDeadline : long.MaxValue;
            foreach (var c in _table.All)
            {
                t = Math.Min(t, c.NextTimeout);
            }

            return t;
        }
    }

    /// <summary>Runs expired timers and forgets connections that are closed and have told everything.</summary>
    public void HandleTimeouts(long now)
    {
        while (_table.OldestHalfOpen is { } oldest && oldest.HandshakeDeadline <= now)
        {
            Stats.HandshakeTimeouts++;
            Forget(oldest, $"no request within {_config.HandshakeTimeout / 1_000_000.0:0.#} s of the handshake", now);
        }

        var connections = _table.All;
        for (int i = connections.Count - 1; i >= 0; i--)
        {
            var c = connections[i];
            if (c.NextTimeout <= now)
            {
                c.HandleTimeout(now);
            }
        }
    }

    /// <summary>Next application event of any connection.</summary>
    public bool TryPollEvent(out Connection connection, out ConnectionEvent ev)
    {
        var connections = _table.All;
        int n = connections.Count;
        for (int i = 0; i < n; i++)
        {
            var c = connections[(_eventCursor + i) % n];
            if (c.TryPollEvent(out ev))
            {
                _eventCursor = (_eventCursor + i) % n;
                connection = c;
                return true;
            }
        }

        connection = null!;
        ev = null!;
        return false;
    }

    /// <summary>Removes closed connections whose events were all polled; returns them so the shell can release resources.</summary>
    public List<Connection>? Sweep()
    {
        List<Connection>? removed = null;
        var connections = _table.All;
        for (int i = connections.Count - 1; i >= 0; i--)
        {
            if (connections[i].State == ConnectionState.Closed)
            {
                (removed ??= new()).Add(connections[i]);
            }
        }

        foreach (var c in removed ?? [])
        {
            _table.Remove(c);
        }

        return removed;
    }

    /// <summary>Closes every connection (server shutdown).</summary>
    public void CloseAll(TransferError code, string message, long now)
    {
        foreach (var c in _table.All)
        {
            c.Close(code, message, now);
        }
    }
}
