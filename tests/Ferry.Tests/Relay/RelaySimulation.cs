using System.Net;
using Ferry.Protocol.Relay;
using Ferry.Relay;

namespace Ferry.Tests.Relay;

/// <summary>
/// One relay server and any number of clients over a simulated, impaired network with a fake clock that jumps
/// to the next event. Store appends complete after <see cref="StoreLatencyMicros"/>. No sockets, no sleeps.
/// </summary>
internal sealed class RelaySimulation
{
    private readonly Random _rng;
    private readonly SimNetworkOptions _net;
    private readonly PriorityQueue<(IPEndPoint From, IPEndPoint To, byte[] Data), (long, long)> _inTransit = new();
    private readonly List<(long At, List<RelayAppend> Batch)> _storeQueue = new();
    // Large enough for the largest DELIVER a reader may agree to; the server cuts each DELIVER to the reader's agreed size.
    private readonly byte[] _buffer = new byte[RelayWire.MaxLargeDatagram];
    private readonly RelayServerOptions _serverOptions;
    private long _order;

    public RelaySimulation(int seed, SimNetworkOptions net, RelayServerOptions? serverOptions = null, IMessageStore? store = null)
    {
        _rng = new Random(seed);
        _net = net;
        Store = store ?? new InMemoryMessageStore(new FakeWallClock(this));
        var idRng = new Random(seed ^ 0x5eed);
        _serverOptions = serverOptions ?? new RelayServerOptions();
        Server = new RelayServer(_serverOptions, Store, () => (ulong)idRng.NextInt64(1, long.MaxValue));
        // Start at an odd offset so nothing can depend on time starting at zero.
        Now = 1_000_000_000 + _rng.Next(1_000_000);
    }

    public static IPEndPoint ServerEndPoint { get; } = new(IPAddress.Loopback, 7703);

    public long Now { get; private set; }

    public RelayServer Server { get; private set; }

    public IMessageStore Store { get; }

    public List<SimClient> Clients { get; } = new();

    public long StoreLatencyMicros { get; init; } = 500;

    /// <summary>Sees every datagram handed to the network (before loss): from, to, bytes. Tests use it to inspect packing.</summary>
    public Action<IPEndPoint, IPEndPoint, byte[]>? Tap { get; set; }

    /// <summary>Datagrams dropped by the simulated network.</summary>
    public long NetworkDrops { get; private set; }

    public SimClient AddClient(string name, bool read, bool write, uint delayMillis = 0, RelaySinceKind since = RelaySinceKind.Live, long sinceValue = 0, int receiveCapacity = 4096, int maxDatagram = RelayWire.MaxDatagram)
    {
        var options = new RelayClientOptions
        {
            ClientId = (ulong)_rng.NextInt64(1, long.MaxValue),
            Name = name,
            Read = read,
            Write = write,
            DelayMillis = delayMillis,
            SinceKind = since,
            SinceValue = sinceValue,
            ReceiveCapacity = receiveCapacity,
            MaxDatagram = maxDatagram,
        };
        var c = new SimClient(new RelayClient(options, Now), new IPEndPoint(IPAddress.Parse("127.0.0." + (10 + Clients.Count)), 40000 + Clients.Count));
        Clients.Add(c);
        Pump();
        return c;
    }

    /// <summary>Replaces the server with a fresh one over the same store, as a restarted process would be.</summary>
    public void RestartServer()
    {
        var idRng = new Random(_rng.Next());
        Server = new RelayServer(_serverOptions, Store, () => (ulong)idRng.NextInt64(1, long.MaxValue));
        _storeQueue.Clear();
    }

    /// <summary>Runs until <paramref name="done"/> or <paramref name="maxSteps"/> events (livelock guard); returns whether done.</summary>
    public bool RunUntil(Func<bool> done, int maxSteps = 2_000_000, long? maxTime = null)
    {
        for (int step = 0; step < maxSteps; step++)
        {
            Pump();
            if (done())
            {
                return true;
            }

            long next = NextEventTime();
            if (next == long.MaxValue || (maxTime is long limit && next > limit))
            {
                return done();
            }

            Now = Math.Max(Now, next);
            Step();
        }

        return false;
    }

    /// <summary>Advances the clock by <paramref name="micros"/>, processing every event on the way.</summary>
    public void RunFor(long micros)
    {
        long end = Now + micros;
        RunUntil(() => false, maxTime: end);
        Now = Math.Max(Now, end);
        Pump();
    }

    private long NextEventTime()
    {
        long next = Server.NextWakeup();
        foreach (var c in Clients)
        {
            next = Math.Min(next, c.Client.NextWakeup());
        }

        if (_inTransit.TryPeek(out _, out var key))
        {
            next = Math.Min(next, key.Item1);
        }

        foreach (var (at, _) in _storeQueue)
        {
            next = Math.Min(next, at);
        }

        return next;
    }

    private void Step()
    {
        while (_inTransit.TryPeek(out var d, out var key) && key.Item1 <= Now)
        {
            _inTransit.Dequeue();
            if (d.To.Equals(ServerEndPoint))
            {
                Server.HandleDatagram(d.Data, d.From, Now);
            }
            else if (Clients.Find(c => c.EndPoint.Equals(d.To)) is { } c)
            {
                c.Client.HandleDatagram(d.Data, Now);
            }
        }

        for (int i = 0; i < _storeQueue.Count; i++)
        {
            if (_storeQueue[i].At <= Now)
            {
                var results = new List<RelayAppendResult>();
                Store.Append(_storeQueue[i].Batch, results);
                Server.OnAppended(results, Now);
                _storeQueue.RemoveAt(i--);
            }
        }

        if (Server.NextWakeup() <= Now)
        {
            Server.HandleTimeout(Now);
        }

        foreach (var c in Clients)
        {
            if (c.Client.NextWakeup() <= Now)
            {
                c.Client.HandleTimeout(Now);
            }
        }
    }

    /// <summary>Moves everything that is ready: server transmits, store hand-off, client transmits, client reads.</summary>
    public void Pump()
    {
        for (int round = 0; round < 4; round++)
        {
            var batch = new List<RelayAppend>();
            if (Server.TakeAppends(batch) > 0)
            {
                _storeQueue.Add((Now + StoreLatencyMicros, batch));
            }

            int n;
            while ((n = Server.PollTransmit(_buffer, Now, out var to)) > 0)
            {
                Send(ServerEndPoint, to!, _buffer.AsSpan(0, n));
            }

            foreach (var c in Clients)
            {
                c.DrainEvents();
                if (c.Reading)
                {
                    while (c.Client.TryReadMessage(out var m))
                    {
                        c.Received.Add(m!);
                    }
                }

                while ((n = c.Client.PollTransmit(_buffer, Now)) > 0)
                {
                    Send(c.EndPoint, ServerEndPoint, _buffer.AsSpan(0, n));
                }
            }
        }
    }

    private void Send(IPEndPoint from, IPEndPoint to, ReadOnlySpan<byte> data)
    {
        Tap?.Invoke(from, to, data.ToArray());
        if (_rng.NextDouble() < _net.Loss)
        {
            NetworkDrops++;
            return;
        }

        int copies = _rng.NextDouble() < _net.Duplicate ? 2 : 1;
        for (int i = 0; i < copies; i++)
        {
            byte[] bytes = data.ToArray();
            if (_rng.NextDouble() < _net.Corrupt)
            {
                bytes[_rng.Next(bytes.Length)] ^= (byte)(1 << _rng.Next(8));
            }

            long at = Now + _net.LatencyMicros + (_net.JitterMicros > 0 ? _rng.NextInt64(_net.JitterMicros) : 0);
            _inTransit.Enqueue((from, to, bytes), (at, _order++));
        }
    }

    /// <summary>Unix wall clock derived from the simulation clock (for store timestamps).</summary>
    private sealed class FakeWallClock(RelaySimulation sim) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + sim.Now / 1000);
    }
}
