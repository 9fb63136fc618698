using System.Security.Cryptography;
using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Support;

namespace Ferry.Tests.Udp.Sim;

/// <summary>Outcome of one simulated transfer.</summary>
public sealed record SimResult(
    bool Completed,
    TransferError ClientCode,
    string ClientMessage,
    long SimMicros,
    int Steps,
    ConnectionStats ClientStats,
    ConnectionStats? ServerStats);

/// <summary>
/// Runs one client connection against a <see cref="ServerEndpoint"/> over two <see cref="SimLink"/>s with a fake clock
/// that jumps straight to the next event. No sockets, no threads, no sleeping; the same seed gives the same run.
/// </summary>
public sealed class SimTransfer
{
    private static readonly PeerAddress s_clientAddress = new(0x7F00_0001, 40000);
    private readonly Random _rng;
    private readonly SimLink _up;
    private readonly SimLink _down;
    private readonly byte[] _buffer = new byte[65536];
    private readonly List<Connection> _serverConnections = new();
    private readonly List<byte[]> _serverBacklog = new();
    private readonly List<(Connection Connection, ConnectionEvent Event)> _serverPending = new();
    private long _serverBusyUntil;

    public SimTransfer(int seed, LinkConfig up, LinkConfig down, ConnectionConfig? clientConfig = null, ConnectionConfig? serverConfig = null,
        int statelessHellosPerSecond = ServerEndpoint.DefaultStatelessHellosPerSecond)
    {
        _rng = new Random(seed);
        _up = new SimLink(up, new Random(seed + 1));
        _down = new SimLink(down, new Random(seed + 2));
        ClientConfig = clientConfig ?? new ConnectionConfig();
        var key = new byte[32];
        _rng.NextBytes(key);
        // Simulated servers hold the shared test key unless a test says otherwise, so transfers are encrypted as in real use.
        var sc = serverConfig ?? new ConnectionConfig();
        if (sc.Security.Identity is null && !SimServerKeyless)
        {
            sc = sc with { Security = new UdpSecurity { Identity = TestSecurity.ServerKey, AllowInsecure = sc.Security.AllowInsecure, EpochBits = sc.Security.EpochBits } };
        }

        Server = new ServerEndpoint(sc, key, () => (ulong)_rng.NextInt64(1, long.MaxValue), statelessHellosPerSecond: statelessHellosPerSecond);
        // Start the clock at an arbitrary offset: nothing may assume time starts at zero.
        Now = 1_000_000_000 + _rng.NextInt64(1_000_000_000);
    }

    public long Now { get; private set; }

    /// <summary>Set before construction (thread-static) to simulate a server without a key.</summary>
    [ThreadStatic]
    public static bool SimServerKeyless;

    /// <summary>A man in the middle on the server-to-client path: returns the datagram to deliver (changed or not), or null to drop it.</summary>
    public Func<byte[], byte[]?>? DownFilter { get; set; }

    /// <summary>The client-to-server path's counterpart of <see cref="DownFilter"/>.</summary>
    public Func<byte[], byte[]?>? UpFilter { get; set; }

    /// <summary>The access token the simulated client sends.</summary>
    public string? AccessToken { get; set; }

    /// <summary>The rate limit (bit/s) the simulated client asks for in RATE_LIMIT with a GET or PUT (null: no frame).</summary>
    public long? RateLimit { get; set; }

    /// <summary>The limit in force the simulated server sets on a GET or PUT it accepts (bit/s; null: it never calls SetRateLimit).</summary>
    public Func<ConnectionEvent, long>? ServerRateLimit { get; set; }

    /// <summary>The upload key the simulated client sends with a PUT (null: none).</summary>
    public byte[]? UploadKey { get; set; }

    /// <summary>When set, every datagram either side sends is recorded here (a wire capture).</summary>
    public List<byte[]>? Capture { get; set; }

    /// <summary>Client: a server key the simulated user rejects (pin mismatch).</summary>
    public Func<byte[], bool>? RejectServerKey { get; set; }

    public ConnectionConfig ClientConfig { get; }

    public ServerEndpoint Server { get; }

    public Connection? Client { get; private set; }

    public SimLink Up => _up;

    public SimLink Down => _down;

    public Dictionary<string, byte[]> ServerFiles { get; } = new();

    public Dictionary<string, MemorySink> Uploads { get; } = new();

    /// <summary>Upload resume: ranges the server already holds (with their bytes prefilled).</summary>
    public (RangeSet Have, byte[] Prefill)? ServerHave { get; set; }

    /// <summary>Download resume: ranges the client already holds (with their bytes prefilled).</summary>
    public (RangeSet Have, byte[] Prefill)? ClientHave { get; set; }

    /// <summary>Lets a test refuse requests: return a code to reject.</summary>
    public Func<ConnectionEvent, (TransferError Code, string Message)?>? ServerPolicy { get; set; }

    public MemorySink? ClientSink { get; private set; }

    public MemorySource? ClientSource { get; private set; }

    public List<ConnectionEvent> ClientEvents { get; } = new();

    public List<ConnectionEvent> ServerEvents { get; } = new();

    /// <summary>Simulated time from the start to the client's Closed event (what a user's command waits for).</summary>
    public long ClientClosedMicros { get; private set; }

    /// <summary>Called once per step: tests inject hostile datagrams or observe state here.</summary>
    public Action<SimTransfer>? OnStep { get; set; }

    /// <summary>
    /// Time the simulated server application spends answering a request (opening and creating files, a cold JIT), as
    /// a single-threaded listener does: meanwhile it reads nothing, acknowledges nothing and sends nothing. The real
    /// shells answer a process's first request tens of milliseconds late, which connections must not take for a queue.
    /// </summary>
    public long ServerRequestDelay { get; set; }

    /// <summary>When set, the server stops answering entirely after this time (a peer that vanishes).</summary>
    public long ServerDiesAt { get; set; } = long.MaxValue;

    /// <summary>
    /// GET as the real client does it: with nothing to resume (<see cref="ClientHave"/> null) the HAVE goes with the
    /// REQUEST and the sink opens inside ACCEPT's handling; false: the HAVE waits for ACCEPT (as an older client).
    /// </summary>
    public bool EagerGet { get; set; } = true;

    /// <summary>GET client: RESULT and CLOSE together once the file verified, as the real client (false: wait for the RESULT's ACK).</summary>
    public bool CloseAtOnce { get; set; } = true;

    public SimResult RunGet(string path, long maxSimMicros = 600_000_000, int maxSteps = 5_000_000)
    {
        Client = Connection.CreateClient(ClientConfig, NewId(), TransferOp.Get, path, 0, 0, null, Now, AccessToken, rateLimit: RateLimit);
        if (EagerGet && ClientHave is null)
        {
            var client = Client;
            client.ReceiveOnAccept(ev =>
            {
                ClientSink = new MemorySink(ev.Size);
                return (ClientSink, null);
            });
        }

        return Run(maxSimMicros, maxSteps);
    }

    /// <summary>A LIST of <paramref name="path"/>: the server serves <see cref="ServerFiles"/>[path] as the listing's bytes.</summary>
    public SimResult RunList(string path, long flags)
    {
        Client = Connection.CreateClient(ClientConfig, NewId(), TransferOp.List, path, flags, 0, null, Now, AccessToken);
        var client = Client;
        client.ReceiveOnAccept(ev =>
        {
            ClientSink = new MemorySink(ev.Size);
            return (ClientSink, null);
        });
        return Run(600_000_000, 5_000_000);
    }

    public SimResult RunPut(string path, byte[] data, long maxSimMicros = 600_000_000, int maxSteps = 5_000_000)
    {
        ClientSource = new MemorySource(data);
        Client = Connection.CreateClient(ClientConfig, NewId(), TransferOp.Put, path, data.Length, 12345, ClientSource, Now, AccessToken, UploadKey, rateLimit: RateLimit);
        return Run(maxSimMicros, maxSteps);
    }

    /// <summary>Replaces the simulated client application (events of <see cref="Client"/>); the default handles single transfers.</summary>
    public Action<Connection, ConnectionEvent>? ClientAppOverride { get; set; }

    /// <summary>Replaces the simulated server application (events of the server's connections).</summary>
    public Action<Connection, ConnectionEvent>? ServerAppOverride { get; set; }

    /// <summary>Runs <paramref name="client"/>, created by the test (a job client), to its end.</summary>
    public SimResult RunClient(Connection client, long maxSimMicros = 600_000_000, int maxSteps = 5_000_000)
    {
        Client = client;
        return Run(maxSimMicros, maxSteps);
    }

    /// <summary>A fresh client connection id.</summary>
    public ulong NextClientId() => NewId();

    /// <summary>Injects a datagram at the server as if it came from <paramref name="from"/>.</summary>
    public void InjectAtServer(ReadOnlySpan<byte> datagram, PeerAddress from) => Server.HandleDatagram(Now, datagram, from);

    /// <summary>Drains what the server wants to send right now (used to measure replies to injected datagrams).</summary>
    public List<(PeerAddress To, byte[] Data)> DrainServer()
    {
        var list = new List<(PeerAddress, byte[])>();
        int n;
        while ((n = Server.PollTransmit(Now, _buffer, out var to)) > 0)
        {
            list.Add((to, _buffer[..n]));
        }

        return list;
    }

    private ulong NewId() => (ulong)_rng.NextInt64(1, long.MaxValue);

    private SimResult Run(long maxSimMicros, int maxSteps)
    {
        var client = Client!;
        long deadline = Now + maxSimMicros;
        long start = Now;
        TransferError code = TransferError.None;
        string message = string.Empty;
        bool clientClosed = false;
        int steps = 0;
        for (; steps < maxSteps && Now <= deadline; steps++)
        {
            bool serverAlive = Now < ServerDiesAt;
            if (serverAlive && Now >= _serverBusyUntil && _serverPending.Count > 0)
            {
                // The server's slow request handling is over: answer, then read what arrived meanwhile.
                foreach (var (sc, sev) in _serverPending)
                {
                    ServerApp(sc, sev);
                }

                _serverPending.Clear();
                foreach (var d in _serverBacklog)
                {
                    Server.HandleDatagram(Now, d, s_clientAddress);
                }

                _serverBacklog.Clear();
            }

            bool serverBusy = Now < _serverBusyUntil;
            foreach (var delivered in _up.Deliver(Now))
            {
                var d = UpFilter is null ? delivered : UpFilter(delivered);
                if (d is null)
                {
                    continue;
                }

                if (serverAlive && serverBusy)
                {
                    _serverBacklog.Add(d);
                }
                else if (serverAlive)
                {
                    Server.HandleDatagram(Now, d, s_clientAddress);
                }
            }

            foreach (var delivered in _down.Deliver(Now))
            {
                var d = DownFilter is null ? delivered : DownFilter(delivered);
                if (d is null)
                {
                    continue;
                }

                if (Packet.TryParse(d, out var p) == PacketError.None && p.DestinationId == client.LocalId)
                {
                    client.HandlePacket(Now, p);
                }
            }

            if (client.NextTimeout <= Now)
            {
                client.HandleTimeout(Now);
            }

            if (serverAlive && !serverBusy)
            {
                Server.HandleTimeouts(Now);
            }

            OnStep?.Invoke(this);
            while (client.TryPollEvent(out var ev))
            {
                ClientEvents.Add(ev);
                if (ClientAppOverride is { } clientApp)
                {
                    clientApp(client, ev);
                }
                else
                {
                    ClientApp(client, ev);
                }

                if (ev.Kind == ConnectionEventKind.Closed)
                {
                    clientClosed = true;
                    ClientClosedMicros = Now - start;
                    code = ev.Code;
                    message = ev.Message;
                }
            }

            if (serverAlive && !serverBusy)
            {
                while (Server.TryPollEvent(out var sc, out var sev))
                {
                    ServerEvents.Add(sev);
                    if (ServerRequestDelay > 0 && sev.Kind == ConnectionEventKind.RequestReceived)
                    {
                        _serverBusyUntil = Now + ServerRequestDelay;
                        serverBusy = true;
                        _serverPending.Add((sc, sev));
                    }
                    else
                    {
                        ServerApp(sc, sev);
                    }
                }

                foreach (var c in Server.Sweep() ?? new List<Connection>())
                {
                    _serverConnections.Add(c);
                }
            }

            int n;
            while ((n = client.PollTransmit(Now, _buffer)) > 0)
            {
                _up.Send(Now, _buffer.AsSpan(0, n));
                Capture?.Add(_buffer[..n]);
            }

            if (serverAlive && !serverBusy)
            {
                while ((n = Server.PollTransmit(Now, _buffer, out _)) > 0)
                {
                    _down.Send(Now, _buffer.AsSpan(0, n));
                    Capture?.Add(_buffer[..n]);
                }
            }

            if (clientClosed && (Server.Connections.Count == 0 || !serverAlive))
            {
                break;
            }

            long next = Math.Min(client.NextTimeout, Math.Min(_up.NextArrival, _down.NextArrival));
            if (serverAlive)
            {
                next = Math.Min(next, serverBusy ? _serverBusyUntil : Server.NextTimeout);
            }

            if (next == long.MaxValue)
            {
                break; // nothing will ever happen again: a stuck protocol, reported as not completed
            }

            Now = Math.Max(Now, next);
        }

        var serverStats = _serverConnections.Concat(Server.Connections).FirstOrDefault()?.Stats;
        bool completed = clientClosed && code == TransferError.None;
        return new SimResult(completed, code, message, Now - start, steps, client.Stats, serverStats);
    }

    private void ClientApp(Connection client, ConnectionEvent ev)
    {
        switch (ev.Kind)
        {
            case ConnectionEventKind.ServerKeyReceived:
                if (RejectServerKey?.Invoke(ev.ServerKey!) == true)
                {
                    client.Close(TransferError.HandshakeFailed, "the client does not trust the server's key", Now);
                }
                else
                {
                    client.ConfirmServerKey();
                }

                break;
            case ConnectionEventKind.Accepted when client.Op.IsDownload() && ClientSink is not null:
                break; // opened inside ACCEPT (EagerGet)
            case ConnectionEventKind.Accepted when client.Op.IsDownload():
                if (ClientHave is { } ch)
                {
                    ClientSink = new MemorySink(ev.Size, ch.Prefill);
                    client.StartReceiving(ClientSink, ch.Have);
                }
                else
                {
                    ClientSink = new MemorySink(ev.Size);
                    client.StartReceiving(ClientSink, null);
                }

                break;
            case ConnectionEventKind.DataComplete:
            {
                bool ok = ClientSink!.Sha256().AsSpan().SequenceEqual(ev.Sha256);
                if (CloseAtOnce)
                {
                    client.FinishReceiveAndClose(ok ? TransferError.None : TransferError.Integrity, ok ? "verified" : "SHA-256 mismatch", Now);
                }
                else
                {
                    client.FinishReceive(ok ? TransferError.None : TransferError.Integrity, ok ? "verified" : "SHA-256 mismatch");
                }

                break;
            }
        }
    }

    private void ServerApp(Connection c, ConnectionEvent ev)
    {
        if (ServerAppOverride is { } app)
        {
            app(c, ev);
            return;
        }

        switch (ev.Kind)
        {
            case ConnectionEventKind.RequestReceived:
            {
                if (ServerPolicy?.Invoke(ev) is { } refusal)
                {
                    c.Reject(refusal.Code, refusal.Message, Now);
                    return;
                }

                if (ServerRateLimit is { } limit)
                {
                    c.SetRateLimit(limit(ev));
                }

                if (ev.Op.IsDownload())
                {
                    if (!ServerFiles.TryGetValue(ev.Path, out var data))
                    {
                        c.Reject(TransferError.NotFound, $"'{ev.Path}' does not exist", Now);
                        return;
                    }

                    c.Accept(data.Length, 777, new MemorySource(data), null, null);
                }
                else
                {
                    var sink = ServerHave is { } sh ? new MemorySink(ev.Size, sh.Prefill) : new MemorySink(ev.Size);
                    Uploads[ev.Path] = sink;
                    c.Accept(0, ev.IdentityMtime, null, sink, ServerHave?.Have);
                }

                break;
            }

            case ConnectionEventKind.DataComplete:
            {
                var sink = Uploads[c.Path];
                bool ok = SHA256.HashData(sink.Data).AsSpan().SequenceEqual(ev.Sha256);
                c.FinishReceive(ok ? TransferError.None : TransferError.Integrity, ok ? "stored" : "SHA-256 mismatch");
                break;
            }
        }
    }
}
