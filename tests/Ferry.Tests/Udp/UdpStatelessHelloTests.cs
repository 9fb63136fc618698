using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Support;
using Ferry.Tests.Udp.Sim;

namespace Ferry.Tests.Udp;

/// <summary>
/// The stateless SERVER_HELLO: an encrypting client's first HELLO is answered at once, the session's secrets travel
/// in a sealed token, and the server still keeps nothing (and amplifies nothing) before the client proves its address.
/// </summary>
public class UdpStatelessHelloTests
{
    private const long OneWay = 25_000;
    private static readonly PeerAddress s_peer = new(0x7F00_0001, 40000);

    private static LinkConfig Wan() => new() { Delay = OneWay, RateBps = 100_000_000, QueuePackets = 1000 };

    private static byte[] RandomBytes(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static ServerEndpoint NewServer(int statelessHellosPerSecond = ServerEndpoint.DefaultStatelessHellosPerSecond, Random? rng = null)
    {
        rng ??= new Random(9);
        var key = new byte[32];
        rng.NextBytes(key);
        var config = new ConnectionConfig { Security = new UdpSecurity { Identity = TestSecurity.ServerKey } };
        var r = rng;
        return new ServerEndpoint(config, key, () => (ulong)r.NextInt64(1, long.MaxValue), statelessHellosPerSecond: statelessHellosPerSecond);
    }

    /// <summary>The first datagram of a real encrypting client (HELLO, the offer token, padding).</summary>
    private static byte[] FirstInitial(ulong clientId, long now)
    {
        var client = Connection.CreateClient(new ConnectionConfig(), clientId, TransferOp.Get, "f", 0, 0, null, now);
        var buffer = new byte[Packet.MaxMaxDatagram];
        int n = client.PollTransmit(now, buffer);
        return buffer[..n];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Encrypted_transfers_save_the_retry_round_trip(bool upload)
    {
        var data = RandomBytes(1, 300_000);
        SimTransfer Sim(int rate)
        {
            var sim = new SimTransfer(3, Wan(), Wan(), statelessHellosPerSecond: rate);
            sim.ServerFiles["f.bin"] = data;
            return sim;
        }

        var withRetry = Sim(0);
        var stateless = Sim(ServerEndpoint.DefaultStatelessHellosPerSecond);
        var r1 = upload ? withRetry.RunPut("f.bin", data) : withRetry.RunGet("f.bin");
        var r2 = upload ? stateless.RunPut("f.bin", data) : stateless.RunGet("f.bin");

        Assert.True(r1.Completed, r1.ClientMessage);
        Assert.True(r2.Completed, r2.ClientMessage);
        Assert.Equal(data, upload ? stateless.Uploads["f.bin"].Data : stateless.ClientSink!.Data);
        Assert.Equal(0, withRetry.Server.Stats.StatelessHellos);
        Assert.Equal(1, withRetry.Server.Stats.RetriesSent);
        Assert.Equal(1, stateless.Server.Stats.StatelessHellos);
        Assert.Equal(0, stateless.Server.Stats.RetriesSent);
        Assert.Equal(1, stateless.Server.Stats.HandshakeTokensAccepted);
        Assert.InRange(withRetry.ClientClosedMicros - stateless.ClientClosedMicros, 2 * OneWay - 5_000, 2 * OneWay + 5_000);
    }

    [Fact]
    public void Hellos_from_spoofed_addresses_leave_no_state_and_get_less_than_a_third_back()
    {
        var server = NewServer();
        long now = 5_000_000_000;
        long received = 0, sent = 0;
        for (int i = 0; i < 50; i++)
        {
            var d = FirstInitial((ulong)(1000 + i), now);
            received += d.Length;
            server.HandleDatagram(now, d, new PeerAddress(0x0A00_0000u + (uint)i, 5000));
            foreach (var reply in Drain(server, now))
            {
                Assert.Equal((byte)PacketType.Handshake, reply[2]);
                sent += reply.Length;
            }
        }

        Assert.Equal(50, server.Stats.StatelessHellos);
        Assert.Empty(server.Connections);
        Assert.Equal(0, server.HalfOpenCount);
        double ratio = (double)sent / received;
        Assert.True(ratio < 1.0 / 3, $"amplification {ratio:F3}");
    }

    [Fact]
    public void A_flood_spends_the_budget_then_gets_retries()
    {
        var server = NewServer(statelessHellosPerSecond: 500);
        long now = 5_000_000_000;
        var initial = FirstInitial(77, now);
        for (int i = 0; i < 1000; i++)
        {
            server.HandleDatagram(now, initial, new PeerAddress(0x0A00_0000u + (uint)i, 5000));
        }

        Drain(server, now);
        // Burst: a fifth of a second's worth (100); every other offer gets the cheap Retry.
        Assert.Equal(100, server.Stats.StatelessHellos);
        Assert.Equal(900, server.Stats.StatelessHellosOverBudget);
        Assert.Equal(900, server.Stats.RetriesSent);

        // The budget refills with time.
        now += 100_000;
        for (int i = 0; i < 100; i++)
        {
            server.HandleDatagram(now, initial, new PeerAddress(0x0B00_0000u + (uint)i, 5000));
        }

        Drain(server, now);
        Assert.Equal(150, server.Stats.StatelessHellos);
        Assert.Empty(server.Connections);
    }

    [Fact]
    public void A_client_that_does_not_offer_gets_a_retry()
    {
        var server = NewServer();
        long now = 5_000_000_000;
        var initial = FirstInitial(78, now);
        // Rewrite the offer (token 01) as an empty token, as an older client sends (one more PADDING byte keeps the size).
        var old = new byte[initial.Length];
        initial.AsSpan(0, Packet.HeaderSize + 8).CopyTo(old);
        initial.AsSpan(Packet.HeaderSize + 8 + 2 + 1, initial.Length - (Packet.HeaderSize + 8 + 3) - Packet.TrailerSize)
            .CopyTo(old.AsSpan(Packet.HeaderSize + 8 + 2));
        Packet.Seal(old, old.Length - Packet.TrailerSize);
        Assert.Equal(PacketError.None, Packet.TryParse(old, out var parsed));
        Assert.True(parsed.Token.IsEmpty);

        server.HandleDatagram(now, old, s_peer);
        var reply = Assert.Single(Drain(server, now));
        Assert.Equal((byte)PacketType.Retry, reply[2]);
        Assert.Equal(0, server.Stats.StatelessHellos);
    }

    [Fact]
    public void A_replayed_or_moved_first_request_opens_nothing()
    {
        var data = RandomBytes(2, 200_000);
        var sim = new SimTransfer(4, Wan(), Wan()) { Capture = new List<byte[]>() };
        sim.ServerFiles["f.bin"] = data;
        var r = sim.RunGet("f.bin");
        Assert.True(r.Completed, r.ClientMessage);
        Assert.Empty(sim.Server.Connections);

        // The client's first protected Initial: it carries the handshake token and the REQUEST.
        var first = sim.Capture!.First(d => d[2] == (byte)PacketType.Initial && (d[3] & Packet.FlagProtected) != 0);
        Assert.Equal(PacketError.None, Packet.TryParse(first, out var p));
        Assert.Equal(HandshakeTokens.TokenLength, p.Token.Length);
        long created = sim.Server.Stats.ConnectionsCreated;

        sim.InjectAtServer(first, s_peer);                        // replayed from the same address
        sim.InjectAtServer(first, new PeerAddress(0x0A00_0009, 40000)); // moved to another address
        Assert.Empty(sim.Server.Connections);
        Assert.Equal(created, sim.Server.Stats.ConnectionsCreated);
        Assert.Equal(2, sim.Server.Stats.InvalidTokens);
    }

    [Fact]
    public void A_cleartext_initial_with_a_handshake_token_opens_nothing()
    {
        var server = NewServer();
        long now = 5_000_000_000;
        var initial = FirstInitial(79, now);
        // A forged 92-byte token on a cleartext Initial (a handshake token only ever rides a protected one), in place of
        // the offer and some of the padding: still a 1200-byte Initial.
        var forged = new byte[initial.Length];
        initial.AsSpan(0, Packet.HeaderSize + 8).CopyTo(forged);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(forged.AsSpan(Packet.HeaderSize + 8), HandshakeTokens.TokenLength);
        int frames = Packet.HeaderSize + 10 + HandshakeTokens.TokenLength;
        initial.AsSpan(Packet.HeaderSize + 11, forged.Length - frames - Packet.TrailerSize).CopyTo(forged.AsSpan(frames));
        Packet.Seal(forged, forged.Length - Packet.TrailerSize);
        server.HandleDatagram(now, forged, s_peer);
        Assert.Empty(Drain(server, now));
        Assert.Empty(server.Connections);
        Assert.Equal(1, server.Stats.InvalidTokens);
    }

    [Fact]
    public void Tokens_are_bound_to_address_id_and_time_and_open_once()
    {
        var random = new Random(3);
        var tokens = new HandshakeTokens(b => random.NextBytes(b), lifetime: 10_000_000);
        var c2s = RandomBytes(5, 32);
        var s2c = RandomBytes(6, 32);
        long t = 50_000_000_000;
        var token = tokens.Issue(s_peer, 42, t, c2s, s2c);
        Assert.Equal(HandshakeTokens.TokenLength, token.Length);

        Assert.False(tokens.TryOpen(token, new PeerAddress(0x7F00_0001, 40001), 42, t + 1, out _, out _));
        Assert.False(tokens.TryOpen(token, s_peer, 43, t + 1, out _, out _));
        var tampered = (byte[])token.Clone();
        tampered[30] ^= 1;
        Assert.False(tokens.TryOpen(tampered, s_peer, 42, t + 1, out _, out _));
        Assert.False(tokens.TryOpen(token, s_peer, 42, t + 10_000_001, out _, out _));

        Assert.True(tokens.TryOpen(token, s_peer, 42, t + 9_999_999, out var a, out var b));
        Assert.Equal(c2s, a);
        Assert.Equal(s2c, b);
        Assert.False(tokens.TryOpen(token, s_peer, 42, t + 9_999_999, out _, out _)); // used once
        Assert.Equal(1, tokens.UsedCount);

        // Two epochs on, the key that sealed it is gone (forward secrecy), and so is the record of its use.
        var late = tokens.Issue(s_peer, 44, t, c2s, s2c);
        tokens.Issue(s_peer, 45, t + 30_000_000, c2s, s2c);
        Assert.Equal(0, tokens.UsedCount);
        Assert.False(tokens.TryOpen(late, s_peer, 44, t + 30_000_000, out _, out _));
    }

    private static List<byte[]> Drain(ServerEndpoint server, long now)
    {
        var list = new List<byte[]>();
        var buffer = new byte[Packet.MaxMaxDatagram];
        int n;
        while ((n = server.PollTransmit(now, buffer, out _)) > 0)
        {
            list.Add(buffer[..n]);
        }

        return list;
    }
}
