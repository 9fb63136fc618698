using System.Security.Cryptography;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Udp.Sim;

/// <summary>
/// Several downloads through one shared bottleneck (the server-to-client direction), each with its own server and
/// an uncongested return path. Fake clock, seeded RNGs: a flow's share of the link is an exact, reproducible outcome.
/// </summary>
public sealed class SharedLinkSim
{
    private static readonly PeerAddress s_client = new(0x7F00_0001, 40000);
    private readonly List<Flow> _flows = new();
    private readonly SimLink _down;
    private readonly Random _rng;
    private readonly byte[] _buffer = new byte[65536];

    public SharedLinkSim(int seed, LinkConfig down)
    {
        _rng = new Random(seed);
        _down = new SimLink(down, new Random(seed + 1));
        Now = 1_000_000_000 + _rng.NextInt64(1_000_000_000);
        Start = Now;
    }

    public long Now { get; private set; }

    public long Start { get; }

    public SimLink Down => _down;

    public IReadOnlyList<Flow> Flows => _flows;

    /// <summary>Adds a download of <paramref name="size"/> random bytes starting <paramref name="startAfter"/> after the start.</summary>
    public Flow AddFlow(int size, long startAfter, LinkConfig up, ConnectionConfig? config = null)
    {
        var data = new byte[size];
        _rng.NextBytes(data);
        var key = new byte[32];
        _rng.NextBytes(key);
        // The server holds the shared test key, so the flows are encrypted as in real use.
        var serverConfig = (config ?? new ConnectionConfig()) with { Security = new UdpSecurity { Identity = Ferry.Tests.Support.TestSecurity.ServerKey } };
        var server = new ServerEndpoint(serverConfig, key, () => (ulong)_rng.NextInt64(1, long.MaxValue));
        var flow = new Flow(data, server, new SimLink(up, new Random(_rng.Next())), config ?? new ConnectionConfig(), Start + startAfter);
        _flows.Add(flow);
        return flow;
    }

    /// <summary>Runs until every flow is done, or <paramref name="until"/> microseconds after the start.</summary>
    public void Run(long until)
    {
        long deadline = Start + until;
        while (Now <= deadline)
        {
            foreach (var f in _flows)
            {
                Step(f);
            }

            foreach (var d in _down.Deliver(Now))
            {
                if (Packet.TryParse(d, out var p) != PacketError.None)
                {
                    continue;
                }

                foreach (var f in _flows)
                {
                    if (f.Client is { } c && p.DestinationId == c.LocalId)
                    {
                        c.HandlePacket(Now, p);
                        f.Sample(Now);
                    }
                }
            }

            foreach (var f in _flows)
            {
                Transmit(f);
            }

            if (_flows.TrueForAll(f => f.Done))
            {
                return;
            }

            long next = _down.NextArrival;
            foreach (var f in _flows)
            {
                next = Math.Min(next, f.NextEvent(Now));
            }

            if (next == long.MaxValue)
            {
                return;
            }

            Now = Math.Max(Now, next);
        }
    }

    private void Step(Flow f)
    {
        if (f.Client is null)
        {
            if (Now < f.StartAt)
            {
                return;
            }

            f.Client = Connection.CreateClient(f.Config, (ulong)_rng.NextInt64(1, long.MaxValue), TransferOp.Get, "f", 0, 0, null, Now);
        }

        foreach (var d in f.Up.Deliver(Now))
        {
            f.Server.HandleDatagram(Now, d, s_client);
        }

        var client = f.Client;
        if (client.NextTimeout <= Now)
        {
            client.HandleTimeout(Now);
        }

        f.Server.HandleTimeouts(Now);
        while (client.TryPollEvent(out var ev))
        {
            switch (ev.Kind)
            {
                case ConnectionEventKind.ServerKeyReceived:
                    client.ConfirmServerKey();
                    break;
                case ConnectionEventKind.Accepted:
                    f.Sink = new MemorySink(ev.Size);
                    client.StartReceiving(f.Sink, null);
                    break;
                case ConnectionEventKind.DataComplete:
                    bool ok = SHA256.HashData(f.Sink!.Data).AsSpan().SequenceEqual(ev.Sha256);
                    client.FinishReceive(ok ? TransferError.None : TransferError.Integrity, ok ? "verified" : "SHA-256 mismatch");
                    break;
                case ConnectionEventKind.Closed:
                    f.Done = true;
                    f.Completed = ev.Code == TransferError.None;
                    f.DoneAt = Now;
                    break;
            }
        }

        while (f.Server.TryPollEvent(out var sc, out var sev))
        {
            if (sev.Kind == ConnectionEventKind.RequestReceived)
            {
                sc.Accept(f.Data.Length, 777, new MemorySource(f.Data), null, null);
            }
        }

        f.Server.Sweep();
    }

    private void Transmit(Flow f)
    {
        if (f.Client is not { } client)
        {
            return;
        }

        int n;
        while ((n = client.PollTransmit(Now, _buffer)) > 0)
        {
            f.Up.Send(Now, _buffer.AsSpan(0, n));
        }

        while ((n = f.Server.PollTransmit(Now, _buffer, out _)) > 0)
        {
            _down.Send(Now, _buffer.AsSpan(0, n));
        }
    }

    /// <summary>One download: its server, its client, and the file bytes it received over time.</summary>
    public sealed class Flow
    {
        private readonly List<(long Time, long Bytes)> _samples = new();
        private long _lastSample;

        public Flow(byte[] data, ServerEndpoint server, SimLink up, ConnectionConfig config, long startAt)
        {
            Data = data;
            Server = server;
            Up = up;
            Config = config;
            StartAt = startAt;
        }

        public byte[] Data { get; }

        public ServerEndpoint Server { get; }

        public SimLink Up { get; }

        public ConnectionConfig Config { get; }

        public long StartAt { get; }

        public Connection? Client { get; set; }

        public MemorySink? Sink { get; set; }

        public bool Done { get; set; }

        public bool Completed { get; set; }

        public long DoneAt { get; set; }

        /// <summary>When the first file bytes arrived (0 before).</summary>
        public long FirstDataAt { get; private set; }

        /// <summary>File bytes received between two absolute times (sampled every 10 ms).</summary>
        public long ReceivedBetween(long from, long to) => At(to) - At(from);

        internal void Sample(long now)
        {
            if (FirstDataAt == 0 && Sink is { BytesWritten: > 0 })
            {
                FirstDataAt = now;
            }

            if (now - _lastSample >= 10_000)
            {
                _lastSample = now;
                _samples.Add((now, Sink?.BytesWritten ?? 0));
            }
        }

        internal long NextEvent(long now)
        {
            if (Client is null)
            {
                return StartAt;
            }

            long next = Math.Min(Up.NextArrival, Server.NextTimeout);
            return Done ? next : Math.Min(next, Client.NextTimeout);
        }

        private long At(long time)
        {
            long bytes = 0;
            foreach (var (t, b) in _samples)
            {
                if (t > time)
                {
                    break;
                }

                bytes = b;
            }

            return bytes;
        }
    }
}
