using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Support;
using Ferry.Tests.Udp.Sim;
using Xunit;

namespace Ferry.Tests.Udp;

/// <summary>
/// Peers that pass the Retry and then never send REQUEST: a global cap on such half-open connections (oldest
/// evicted) and a short handshake timeout (docs/PROTOCOL.md, "Limits"). Pure: fake clock, no sockets.
/// </summary>
public sealed class HalfOpenHandshakeTests
{
    private static ServerEndpoint NewServer(int maxHalfOpen = ServerEndpoint.DefaultMaxHalfOpen, int statelessHellosPerSecond = ServerEndpoint.DefaultStatelessHellosPerSecond)
    {
        var rng = new Random(5);
        var key = new byte[32];
        rng.NextBytes(key);
        var config = new ConnectionConfig { Security = new UdpSecurity { Identity = TestSecurity.ServerKey, AllowInsecure = true } };
        return new ServerEndpoint(config, key, () => (ulong)rng.NextInt64(1, long.MaxValue), maxHalfOpen: maxHalfOpen,
            statelessHellosPerSecond: statelessHellosPerSecond);
    }

    [Fact]
    public void Thousands_of_stalled_handshakes_from_many_addresses_stay_at_the_cap_and_a_legitimate_download_completes()
    {
        var link = new LinkConfig { Delay = 10_000, Jitter = 1_000 };
        var sim = new SimTransfer(41, link, link);
        var data = new byte[2 << 20];
        new Random(6).NextBytes(data);
        sim.ServerFiles["f.bin"] = data;
        var flood = new StalledHandshakeFlood(seed: 7, addresses: 2_500);
        void Forward(PeerAddress to, byte[] d) => sim.Down.Send(sim.Now, d);

        // Before the client starts: 3,000 validated handshakes, all stalled.
        for (int i = 0; i < 3_000; i++)
        {
            flood.One(sim.Server, sim.Now);
            Assert.True(sim.Server.HalfOpenCount <= ServerEndpoint.DefaultMaxHalfOpen);
        }

        flood.Drain(sim.Server, sim.Now);
        Assert.Equal(ServerEndpoint.DefaultMaxHalfOpen, sim.Server.HalfOpenCount);
        Assert.Equal(ServerEndpoint.DefaultMaxHalfOpen, sim.Server.Connections.Count);

        // During the transfer: one more every simulated millisecond (1,000/s, each a full key exchange for the server).
        long nextFlood = sim.Now;
        int maxHalfOpen = 0;
        sim.OnStep = s =>
        {
            while (nextFlood <= s.Now && flood.Sent < 6_000)
            {
                flood.One(s.Server, s.Now, Forward);
                nextFlood += 1_000;
            }

            flood.Drain(s.Server, s.Now, Forward);
            maxHalfOpen = Math.Max(maxHalfOpen, s.Server.HalfOpenCount);
        };

        var r = sim.RunGet("f.bin", maxSimMicros: 120_000_000);
        Assert.True(r.Completed, $"{r.ClientCode} {r.ClientMessage}");
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.True(flood.Sent > 3_000, $"the flood went on during the transfer ({flood.Sent} handshakes)");
        Assert.Equal(ServerEndpoint.DefaultMaxHalfOpen, maxHalfOpen);
        var stats = sim.Server.Stats;
        Assert.Equal(ServerEndpoint.DefaultMaxHalfOpen, stats.HalfOpenPeak);
        Assert.Equal(flood.Sent + 1, stats.ConnectionsCreated);
        Assert.True(stats.HalfOpenEvicted >= flood.Sent - ServerEndpoint.DefaultMaxHalfOpen - stats.HandshakeTimeouts,
            $"evicted {stats.HalfOpenEvicted}, timed out {stats.HandshakeTimeouts} of {flood.Sent}");
        Assert.Equal(0, stats.RefusedFull);
    }

    [Fact]
    public void A_stalled_handshake_is_forgotten_after_the_handshake_timeout_not_the_idle_timeout()
    {
        var server = NewServer();
        var flood = new StalledHandshakeFlood(seed: 8, addresses: 1);
        long start = 3_000_000_000;
        flood.One(server, start);
        flood.Drain(server, start);
        Assert.Equal(1, server.HalfOpenCount);
        long deadline = start + new ConnectionConfig().HandshakeTimeout;
        Assert.True(new ConnectionConfig().HandshakeTimeout < new ConnectionConfig().IdleTimeout);

        // Jump from wake-up to wake-up as a shell would: the connection's SERVER_HELLO repeats until the deadline.
        long now = start;
        var toAttacker = new List<byte[]>();
        var buffer = new byte[Packet.MaxMaxDatagram];
        for (int steps = 0; server.Connections.Count > 0 && steps < 10_000; steps++)
        {
            now = Math.Max(now, server.NextTimeout);
            Assert.True(now <= deadline, "the handshake deadline is a wake-up time");
            server.HandleTimeouts(now);
            int n;
            while ((n = server.PollTransmit(now, buffer, out _)) > 0)
            {
                toAttacker.Add(buffer[..n]);
            }

            server.Sweep();
        }

        Assert.Equal(deadline, now);
        Assert.Empty(server.Connections);
        Assert.Equal(0, server.HalfOpenCount);
        Assert.Equal(1, server.Stats.HandshakeTimeouts);

        // The last datagram is the CLOSE(SERVER_BUSY) that tells the (validated) address why: protected, since the
        // connection had derived its keys (the test below checks that a real client reads it).
        Assert.Equal(PacketError.None, Packet.TryParse(toAttacker[^1], out var close));
        Assert.Equal(PacketType.Data, close.Type);
        Assert.True(close.Protected);
        Assert.Equal(long.MaxValue, server.NextTimeout);
    }

    [Fact]
    public void Connections_that_sent_their_request_are_never_evicted_by_a_flood_of_stalled_handshakes()
    {
        var server = NewServer(maxHalfOpen: 16);
        long now = 1_000_000_000;
        var legit = new List<Connection>();
        for (ulong id = 1; id <= 8; id++)
        {
            var c = OpenInsecure(server, id, new PeerAddress(0x7F00_0001, (ushort)(40_000 + id)), now);
            legit.Add(c);
        }

        Assert.Equal(0, server.HalfOpenCount);
        var flood = new StalledHandshakeFlood(seed: 9, addresses: 500);
        for (int i = 0; i < 2_000; i++)
        {
            flood.One(server, now);
            flood.Drain(server, now);
            Assert.True(server.HalfOpenCount <= 16);
        }

        Assert.Equal(16, server.HalfOpenCount);
        Assert.Equal(8 + 16, server.Connections.Count);
        Assert.All(legit, c => Assert.Contains(c, server.Connections));
        Assert.All(legit, c => Assert.Equal(ConnectionState.Established, c.State));
        Assert.Equal(2_000 - 16, server.Stats.HalfOpenEvicted);
    }

    [Fact]
    public void An_evicted_client_that_already_holds_the_session_keys_is_told_at_once_with_a_protected_close()
    {
        // A client whose key check is slow (it has SERVER_HELLO, has not sent REQUEST) when a flood evicts it: it drops
        // every cleartext packet by then, so only a protected CLOSE can tell it; otherwise it would wait 30 s. Such a
        // client holds server state only on the Retry path (a stateless SERVER_HELLO keeps none, see below).
        var server = NewServer(maxHalfOpen: 4, statelessHellosPerSecond: 0);
        long now = 2_000_000_000;
        var peer = new PeerAddress(0x7F00_0001, 41_000);
        var client = Connection.CreateClient(new ConnectionConfig(), 99, TransferOp.Get, "f", 0, 0, null, now);
        var buffer = new byte[Packet.MaxMaxDatagram];
        var events = new List<ConnectionEvent>();
        void Pump()
        {
            for (bool moved = true; moved;)
            {
                moved = false;
                int n;
                while ((n = client.PollTransmit(now, buffer)) > 0)
                {
                    server.HandleDatagram(now, buffer.AsSpan(0, n), peer);
                    moved = true;
                }

                while ((n = server.PollTransmit(now, buffer, out var to)) > 0)
                {
                    if (to == peer && Packet.TryParse(buffer.AsSpan(0, n), out var p) == PacketError.None)
                    {
                        client.HandlePacket(now, p);
                        moved = true;
                    }
                }

                while (client.TryPollEvent(out var ev))
                {
                    events.Add(ev);
                }
            }
        }

        Pump();
        Assert.Contains(events, e => e.Kind == ConnectionEventKind.ServerKeyReceived);
        Assert.True(client.IsEncrypted);
        Assert.Equal(1, server.HalfOpenCount);

        var flood = new StalledHandshakeFlood(seed: 10, addresses: 4);
        for (int i = 0; i < 4; i++)
        {
            flood.One(server, now, (to, d) =>
            {
                if (to == peer && Packet.TryParse(d, out var p) == PacketError.None)
                {
                    client.HandlePacket(now, p);
                }
            });
        }

        Pump();
        Assert.Equal(1, server.Stats.HalfOpenEvicted);
        var closed = Assert.Single(events, e => e.Kind == ConnectionEventKind.Closed);
        Assert.Equal(TransferError.ServerBusy, closed.Code);
        Assert.True(closed.ByPeer);
        Assert.Equal(ConnectionState.Closed, client.State);
    }

    /// <summary>A cleartext client whose REQUEST rides in its Initial (server allows it): never half-open.</summary>
    private static Connection OpenInsecure(ServerEndpoint server, ulong clientId, PeerAddress peer, long now)
    {
        var buffer = new byte[Packet.MaxMaxDatagram];
        server.HandleDatagram(now, Fuzz.UdpSeeds.Initial(clientId, [], TransferOp.Put, "up" + clientId, 1000), peer);
        int n = server.PollTransmit(now, buffer, out _);
        Assert.Equal(PacketError.None, Packet.TryParse(buffer.AsSpan(0, n), out var retry));
        server.HandleDatagram(now, Fuzz.UdpSeeds.Initial(clientId, retry.Token.ToArray(), TransferOp.Put, "up" + clientId, 1000), peer);
        while (server.PollTransmit(now, buffer, out _) > 0)
        {
        }

        Connection? accepted = null;
        while (server.TryPollEvent(out var c, out var ev))
        {
            if (ev.Kind == ConnectionEventKind.RequestReceived)
            {
                c.Accept(0, 1, null, new MemorySink(1000), null);
                accepted = c;
            }
        }

        return accepted ?? throw new InvalidOperationException("request refused");
    }
}
