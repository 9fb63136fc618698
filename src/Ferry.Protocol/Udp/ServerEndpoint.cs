using Ferry.Protocol.Common;
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
/// connection id, validates client addresses with stateless Retry tokens before creating any state, and
/// multiplexes the connections' output. The shell owns the socket and the clock.
/// </summary>
public sealed class ServerEndpoint
{
    private const int MaxStatelessQueue = 256;
    private readonly ConnectionConfig _config;
    private readonly RetryTokens _tokens;
    private readonly HandshakeTokens _handshakeTokens;
    private readonly AckRange[] _ackScratch = new AckRange[FrameCodec.MaxAckRanges + 1];
    private double _helloBudget;
    private long _helloBudgetStamp = long.MinValue;
    private readonly Func<ulong> _newId;
    private readonly Dictionary<ulong, Connection> _byId = new();
    private readonly Dictionary<ulong, Connection> _byClientId = new();
    private readonly List<Connection> _connections = new();
    private readonly Queue<(PeerAddress To, byte[] Datagram)> _stateless = new();

    // Half-open connections (address validated, REQUEST not yet received), oldest first: creation times only grow,
    // so the head is both the one to evict and the next to time out.
    private readonly LinkedList<Connection> _halfOpen = new();
    private byte[]? _scratch;
    private int _roundRobin;
    private int _eventCursor;

    /// <summary>Default of <see cref="MaxConnections"/>.</summary>
    public const int DefaultMaxConnections = 1024;

    /// <summary>Default of <see cref="MaxConnectionsPerAddress"/>.</summary>
    public const int DefaultMaxConnectionsPerAddress = 64;

    /// <summary>Default of <see cref="MaxHalfOpen"/>.</summary>
    public const int DefaultMaxHalfOpen = 256;

    /// <summary>Default of <see cref="StatelessHellosPerSecond"/>.</summary>
    public const int DefaultStatelessHellosPerSecond = 500;

    // Open connections per validated client IP address (any port).
    private readonly Dictionary<UInt128, int> _perAddress = new();

    public ServerEndpoint(ConnectionConfig config, byte[] retryKey, Func<ulong> newId, int maxConnections = DefaultMaxConnections,
        int maxConnectionsPerAddress = DefaultMaxConnectionsPerAddress, int maxHalfOpen = DefaultMaxHalfOpen,
        int statelessHellosPerSecond = DefaultStatelessHellosPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHalfOpen, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(statelessHellosPerSecond);
        _config = config;
        _tokens = new RetryTokens(retryKey);
        _handshakeTokens = new HandshakeTokens(config.Security.FillRandom);
        StatelessHellosPerSecond = statelessHellosPerSecond;
        _newId = newId;
        MaxConnections = maxConnections;
        MaxConnectionsPerAddress = maxConnectionsPerAddress;
        MaxHalfOpen = maxHalfOpen;
    }

    /// <summary>Connections open at once; an Initial beyond gets a stateless CLOSE with SERVER_BUSY.</summary>
    public int MaxConnections { get; }

    /// <summary>Connections open at once from one IP address (after address validation); beyond, SERVER_BUSY.</summary>
    public int MaxConnectionsPerAddress { get; }

    /// <summary>
    /// Half-open connections (address validated, no REQUEST yet) held at once, whole server. A new one beyond evicts
    /// the oldest: a peer that passes the Retry and then stalls can hold a slot for at most
    /// <see cref="ConnectionConfig.HandshakeTimeout"/>, and all such peers together at most this many slots.
    /// </summary>
    public int MaxHalfOpen { get; }

    /// <summary>
    /// How many first HELLOs per second (burst: a fifth of a second's worth, at least 16) get a stateless SERVER_HELLO
    /// at once; beyond, and for clients that do not offer to take one, a Retry validates the address first. Each costs
    /// the server a signature and a key agreement for an address it has not validated, so a flood of spoofed HELLOs
    /// spends this budget and then only costs a MAC each, as before. 0: always Retry.
    /// </summary>
    public int StatelessHellosPerSecond { get; }

    /// <summary>Half-open connections now.</summary>
    public int HalfOpenCount => _halfOpen.Count;

    public EndpointStats Stats { get; } = new();

    public IReadOnlyList<Connection> Connections => _connections;

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
                if (_byId.TryGetValue(packet.DestinationId, out var c) && c.Peer == peer)
                {
                    c.HandlePacket(now, packet);
                    LeaveHalfOpenIfDone(c);
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

        if (_byClientId.TryGetValue(packet.SourceId, out var existing))
        {
            if (existing.Peer == peer)
            {
                existing.HandlePacket(now, packet);
                LeaveHalfOpenIfDone(existing);
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
            if (!packet.Protected || !_handshakeTokens.TryOpen(packet.Token, peer, packet.SourceId, now, out var c2s, out var s2c))
            {
                Stats.InvalidTokens++;
                return;
            }

            Stats.HandshakeTokensAccepted++;
            var keys = Security.SessionKeys.For(isClient: false, c2s, s2c, _config.Security.EpochBits);
            if (CreateConnection(now, packet, peer, keys) is { } adopted)
            {
                adopted.HandlePacket(now, packet);
                LeaveHalfOpenIfDone(adopted);
            }

            return;
        }

        bool offered = packet.Token.SequenceEqual(Packet.StatelessHelloOffer);
        if (offered && !packet.Protected && TryStatelessHello(now, packet, peer))
        {
            return;
        }

        if (!_tokens.Validate(packet.Token, peer, packet.SourceId, now))
        {
            if (!packet.Token.IsEmpty && !offered)
            {
                Stats.InvalidTokens++;
            }

            var token = _tokens.Issue(peer, packet.SourceId, now);
            var retry = new byte[Packet.HeaderSize + 2 + token.Length + Packet.TrailerSize];
            Packet.WriteRetry(retry, packet.SourceId, token);
            EnqueueStateless(peer, retry);
            Stats.RetriesSent++;
            return;
        }

        if (CreateConnection(now, packet, peer, keys: null) is { } connection)
        {
            connection.HandlePacket(now, packet);
            LeaveHalfOpenIfDone(connection);
        }
    }

    /// <summary>
    /// Creates the connection of a client whose address is validated (a Retry token, or a handshake token whose
    /// <paramref name="keys"/> it then holds), within the limits; null (and a SERVER_BUSY sent) when over them.
    /// </summary>
    private Connection? CreateConnection(long now, in PacketView packet, in PeerAddress peer, Security.SessionKeys? keys)
    {
        if (_halfOpen.Count >= MaxHalfOpen)
        {
            // Oldest first: it had the longest to finish, and a flood's newest entries push out its oldest.
            Stats.HalfOpenEvicted++;
            Forget(_halfOpen.First!.Value, "too many handshakes in progress; yours was not finished in time: try again", now);
        }

        string? busy = null;
        _perAddress.TryGetValue(peer.Address, out int fromAddress);
        if (_connections.Count >= MaxConnections)
        {
            busy = "server has too many connections; try again later";
        }
        else if (fromAddress >= MaxConnectionsPerAddress)
        {
            busy = "too many connections from this address; try again later";
        }

        if (busy is not null)
        {
            Stats.RefusedFull++;
            if (keys is null)
            {
                EnqueueStateless(peer, StatelessClose(packet.SourceId, TransferError.ServerBusy, busy));
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
                    EnqueueStateless(peer, close);
                }
            }

            return null;
        }

        ulong id;
        do
        {
            id = _newId();
        }
        while (id == 0 || _byId.ContainsKey(id));

        var connection = Connection.CreateServer(_config, id, packet.SourceId, peer, now);
        if (keys is not null)
        {
            connection.AdoptKeys(keys);
        }

        _byId[id] = connection;
        _byClientId[packet.SourceId] = connection;
        _connections.Add(connection);
        _perAddress[peer.Address] = fromAddress + 1;
        Stats.ConnectionsCreated++;
        connection.HandshakeDeadline = now + _config.HandshakeTimeout;
        connection.HalfOpenNode = _halfOpen.AddLast(connection);
        Stats.HalfOpenPeak = Math.Max(Stats.HalfOpenPeak, _halfOpen.Count);
        return connection;
    }

    /// <summary>
    /// Answers a first HELLO with a SERVER_HELLO at once, keeping nothing: the session's secrets leave in the token of
    /// a Handshake packet, which the client's next packet brings back (docs/PROTOCOL.md, "Stateless SERVER_HELLO").
    /// False when this path does not apply (no key, cleartext asked, a malformed hello, the budget spent): the caller
    /// then sends a Retry, and the connection's own handshake handles the rest.
    /// </summary>
    private bool TryStatelessHello(long now, in PacketView packet, in PeerAddress peer)
    {
        var security = _config.Security;
        if (security.Identity is null || StatelessHellosPerSecond == 0)
        {
            return false;
        }

        byte[]? hello = null;
        var r = new SpanReader(packet.Payload);
        while (!r.End)
        {
            if (!FrameCodec.TryRead(ref r, _ackScratch, out var f))
            {
                return false;
            }

            if (f.Type == FrameType.Hello)
            {
                hello = f.Data.ToArray();
            }
        }

        if (hello is null || !Security.ServerHandshake.TryReadSuite(hello, out byte suite) || suite != Security.HandshakeMessages.SuiteP256Aes256Gcm)
        {
            return false;
        }

        if (!TakeHelloBudget(now))
        {
            Stats.StatelessHellosOverBudget++;
            return false;
        }

        Span<byte> random = stackalloc byte[Security.HandshakeMessages.RandomSize];
        security.FillRandom(random);
        using var ephemeral = security.NewEphemeral();
        if (Security.ServerHandshake.Respond(UdpSecurity.Context(packet.SourceId), hello, security.Identity, ephemeral, random,
                out var serverHello, out var c2s, out var s2c) != Security.HandshakeFailure.None)
        {
            return false;
        }

        var token = _handshakeTokens.Issue(peer, packet.SourceId, now, c2s, s2c);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(c2s);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(s2c);
        var frames = new byte[serverHello.Length + 8];
        var w = new SpanWriter(frames);
        FrameCodec.TryWriteHello(ref w, FrameType.ServerHello, serverHello);
        var datagram = new byte[Packet.HeaderSize + 2 + token.Length + w.Position + Packet.TrailerSize];
        Packet.WriteHandshake(datagram, packet.SourceId, token, frames.AsSpan(0, w.Position));
        EnqueueStateless(peer, datagram);
        Stats.StatelessHellos++;
        return true;
    }

    /// <summary>Token bucket of <see cref="StatelessHellosPerSecond"/>.</summary>
    private bool TakeHelloBudget(long now)
    {
        double burst = Math.Max(16, StatelessHellosPerSecond / 5.0);
        if (_helloBudgetStamp == long.MinValue)
        {
            _helloBudget = burst;
        }
        else if (now > _helloBudgetStamp)
        {
            _helloBudget = Math.Min(burst, _helloBudget + (now - _helloBudgetStamp) * StatelessHellosPerSecond / 1e6);
        }

        _helloBudgetStamp = Math.Max(now, _helloBudgetStamp);
        if (_helloBudget < 1)
        {
            return false;
        }

        _helloBudget--;
        return true;
    }

    /// <summary>A connection stops being half-open once its REQUEST arrived, or once it is closing anyway.</summary>
    private void LeaveHalfOpenIfDone(Connection c)
    {
        if (c.HalfOpenNode is { } node && (c.HasRequest || c.State != ConnectionState.Handshake))
        {
            _halfOpen.Remove(node);
            c.HalfOpenNode = null;
        }
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
        if (c.HalfOpenNode is { } node)
        {
            _halfOpen.Remove(node);
            c.HalfOpenNode = null;
        }

        byte[] close = BusyClose(c, message, now);

        c.Abandon();
        _connections.Remove(c);
        _byId.Remove(c.LocalId);
        _byClientId.Remove(c.RemoteId);
        ReleaseAddress(c.Peer.Address);
        if (close.Length > 0)
        {
            EnqueueStateless(c.Peer, close);
        }
    }

    /// <summary>Closes <paramref name="c"/> with SERVER_BUSY and returns its CLOSE datagram (protected once it has session keys).</summary>
    private byte[] BusyClose(Connection c, string message, long now)
    {
        c.Close(TransferError.ServerBusy, message, now);
        _scratch ??= new byte[Packet.MaxMaxDatagram];
        return _scratch.AsSpan(0, c.PollTransmit(now, _scratch)).ToArray();
    }

    private void ReleaseAddress(UInt128 address)
    {
        if (--System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_perAddress, address) == 0)
        {
            _perAddress.Remove(address);
        }
    }

    /// <summary>
    /// A cleartext CLOSE refusing a connection that was never created: packet number 0, the first (and only) packet the
    /// server sends on it (a Retry or Handshake packet before it is outside the numbering).
    /// </summary>
    private static byte[] StatelessClose(ulong clientId, TransferError code, string message)
    {
        var buffer = new byte[256];
        int pos = Packet.WriteHeader(buffer, PacketType.Data, clientId, 0);
        var w = new SpanWriter(buffer.AsSpan(pos, buffer.Length - pos - Packet.TrailerSize));
        FrameCodec.TryWriteCodeMessage(ref w, FrameType.Close, (long)code, message);
        int length = Packet.Seal(buffer, pos + w.Position);
        return buffer[..length];
    }

    private void EnqueueStateless(in PeerAddress to, byte[] datagram)
    {
        if (_stateless.Count >= MaxStatelessQueue)
        {
            Stats.StatelessDropped++;
            return;
        }

        _stateless.Enqueue((to, datagram));
    }

    /// <summary>Next datagram to send and its destination; 0 when nothing is ready.</summary>
    public int PollTransmit(long now, Span<byte> buffer, out PeerAddress destination)
    {
        if (_stateless.TryDequeue(out var s))
        {
            destination = s.To;
            s.Datagram.CopyTo(buffer);
            return s.Datagram.Length;
        }

        int n = _connections.Count;
        for (int i = 0; i < n; i++)
        {
            var c = _connections[(_roundRobin + i) % n];
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
            if (_stateless.Count > 0)
            {
                return 0;
            }

            long t = _halfOpen.First is { } oldest ? oldest.Value.HandshakeDeadline : long.MaxValue;
            foreach (var c in _connections)
            {
                t = Math.Min(t, c.NextTimeout);
            }

            return t;
        }
    }

    /// <summary>Runs expired timers and forgets connections that are closed and have told everything.</summary>
    public void HandleTimeouts(long now)
    {
        while (_halfOpen.First is { } oldest && oldest.Value.HandshakeDeadline <= now)
        {
            Stats.HandshakeTimeouts++;
            Forget(oldest.Value, $"no request within {_config.HandshakeTimeout / 1_000_000.0:0.#} s of the handshake", now);
        }

        for (int i = _connections.Count - 1; i >= 0; i--)
        {
            var c = _connections[i];
            if (c.NextTimeout <= now)
            {
                c.HandleTimeout(now);
            }
        }
    }

    /// <summary>Next application event of any connection.</summary>
    public bool TryPollEvent(out Connection connection, out ConnectionEvent ev)
    {
        int n = _connections.Count;
        for (int i = 0; i < n; i++)
        {
            var c = _connections[(_eventCursor + i) % n];
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
        for (int i = _connections.Count - 1; i >= 0; i--)
        {
            var c = _connections[i];
            if (c.State == ConnectionState.Closed)
            {
                _connections.RemoveAt(i);
                _byId.Remove(c.LocalId);
                _byClientId.Remove(c.RemoteId);
                ReleaseAddress(c.Peer.Address);
                if (c.HalfOpenNode is { } node)
                {
                    _halfOpen.Remove(node);
                    c.HalfOpenNode = null;
                }

                (removed ??= new()).Add(c);
            }
        }

        return removed;
    }

    /// <summary>Closes every connection (server shutdown).</summary>
    public void CloseAll(TransferError code, string message, long now)
    {
        foreach (var c in _connections)
        {
            c.Close(code, message, now);
        }
    }
}
