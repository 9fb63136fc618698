using System.Security.Cryptography;
using Ferry.Protocol.Security;
using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Security;

/// <summary>The secure envelope (used by the relay) as a pure state machine: handshake, sealing, and the bounds a flood meets.</summary>
public sealed class EnvelopeTests
{
    private static EnvelopeClient NewClient(ulong channel) =>
        new("relay", channel, ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256), RandomNumberGenerator.GetBytes(32));

    private static (EnvelopeClient Client, EnvelopeServer<int> Server) Connected(int peer = 1, EnvelopeLimits? limits = null)
    {
        var server = new EnvelopeServer<int>("relay", TestSecurity.ServerKey, limits);
        var client = NewClient(0x1234);
        var hello = new byte[Envelope.HelloSize];
        client.WriteHello(hello);
        var reply = new byte[2048];
        Assert.Equal(EnvelopeEvent.Reply, server.Handle(hello, peer, 7, 0, reply, out int n));
        Assert.Equal(EnvelopeEvent.Established, client.Handle(reply.AsSpan(0, n), new byte[2048], out _, out var key, out _));
        Assert.Equal(TestSecurity.ServerKey.Fingerprint, KeyFingerprint.Of(key));
        return (client, server);
    }

    [Fact]
    public void Datagrams_round_trip_both_ways_and_are_not_readable_on_the_wire()
    {
        var (client, server) = Connected();
        var inner = "hello relay, this is a line"u8.ToArray();
        var wire = new byte[inner.Length + Envelope.Overhead];
        Assert.Equal(wire.Length, client.Seal(inner, wire));
        Assert.True(wire.AsSpan().IndexOf("relay"u8) < 0);

        var opened = new byte[2048];
        Assert.Equal(EnvelopeEvent.Opened, server.Handle(wire, 1, 7, 10, opened, out int n));
        Assert.Equal(inner, opened[..n]);

        // A replay of the same datagram is dropped; so is a modified one.
        Assert.Equal(EnvelopeEvent.Dropped, server.Handle(wire, 1, 7, 11, opened, out _));
        var second = new byte[wire.Length];
        client.Seal(inner, second);
        second[^1] ^= 1;
        Assert.Equal(EnvelopeEvent.Dropped, server.Handle(second, 1, 7, 12, opened, out _));

        var back = new byte[100];
        int m = server.Seal(1, "answer"u8, back);
        Assert.Equal(EnvelopeEvent.Opened, client.Handle(back.AsSpan(0, m), opened, out int k, out _, out _));
        Assert.Equal("answer"u8.ToArray(), opened[..k]);
        Assert.Equal(-1, server.Seal(2, "nobody"u8, back));
    }

    [Fact]
    public void A_sealed_datagram_from_another_peer_or_an_unknown_channel_gets_a_small_refusal()
    {
        var (client, server) = Connected();
        var wire = new byte[64 + Envelope.Overhead];
        client.Seal(new byte[64], wire);
        var reply = new byte[2048];
        Assert.Equal(EnvelopeEvent.Reply, server.Handle(wire, 99, 7, 10, reply, out int n));
        Assert.True(n < wire.Length);
        Assert.True(Envelope.TryReadRefused(reply.AsSpan(0, n), out byte code, out _));
        Assert.Equal(Envelope.RefusedUnknownChannel, code);
    }

    [Fact]
    public void A_datagram_too_short_to_be_sealed_gets_no_reply()
    {
        // Found by the security.envelope fuzz target: a 10-byte "sealed" datagram drew an 11-byte refusal.
        var server = new EnvelopeServer<int>("relay", TestSecurity.ServerKey);
        var datagram = Convert.FromHexString("F503F5030000000080ED");
        Assert.Equal(EnvelopeEvent.Dropped, server.Handle(datagram, 1, 1, 0, new byte[64], out int n));
        Assert.Equal(0, n);
        Assert.Equal(0, server.Stats.BytesOut);
    }

    [Fact]
    public void Short_hellos_are_ignored_and_a_keyless_server_refuses()
    {
        var server = new EnvelopeServer<int>("relay", TestSecurity.ServerKey);
        var client = NewClient(5);
        var hello = new byte[Envelope.HelloSize];
        client.WriteHello(hello);
        Assert.Equal(EnvelopeEvent.Dropped, server.Handle(hello.AsSpan(0, 200), 1, 1, 0, new byte[2048], out _));
        Assert.Equal(0, server.Count);

        var keyless = new EnvelopeServer<int>("relay", identity: null);
        var reply = new byte[2048];
        Assert.Equal(EnvelopeEvent.Reply, keyless.Handle(hello, 1, 1, 0, reply, out int n));
        Assert.Equal(EnvelopeEvent.Refused, client.Handle(reply.AsSpan(0, n), new byte[10], out _, out _, out var reason));
        Assert.Contains("--insecure", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hello_flood_from_one_source_is_rate_limited_bounded_and_never_amplified()
    {
        var limits = new EnvelopeLimits { MaxHalfOpen = 100, MaxHalfOpenPerSource = 16 };
        var server = new EnvelopeServer<int>("relay", TestSecurity.ServerKey, limits);
        var hello = new byte[Envelope.HelloSize];
        NewClient(9).WriteHello(hello);
        var reply = new byte[2048];
        long now = 1_000_000;
        long bytesIn = 0, bytesOut = 0;
        // 100,000 hellos from one source, from ever-new ports, over 10 simulated seconds.
        for (int i = 0; i < 100_000; i++)
        {
            now += 100;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(hello.AsSpan(2), (ulong)i + 1);
            bytesIn += hello.Length;
            if (server.Handle(hello, 10_000 + i, source: 42, now, reply, out int n) == EnvelopeEvent.Reply)
            {
                bytesOut += n;
            }
        }

        // The token bucket answered the burst plus 20 a second; sessions never exceeded the per-source bound.
        Assert.True(server.Stats.HellosRateLimited > 99_000, $"{server.Stats.HellosRateLimited} rate-limited");
        Assert.True(server.Count <= limits.MaxHalfOpenPerSource);
        Assert.True(server.HalfOpen <= limits.MaxHalfOpen);
        double ratio = (double)bytesOut / bytesIn;
        Assert.True(ratio < 0.01, $"amplification {ratio:F4}");

        // A legitimate client from another address still gets in at once.
        var (client, _) = (NewClient(77), 0);
        var h = new byte[Envelope.HelloSize];
        client.WriteHello(h);
        Assert.Equal(EnvelopeEvent.Reply, server.Handle(h, 5, source: 43, now, reply, out int m));
        Assert.Equal(EnvelopeEvent.Established, client.Handle(reply.AsSpan(0, m), new byte[2048], out _, out _, out _));
    }

    [Fact]
    public void Many_established_clients_may_share_one_address()
    {
        // Behind NAT, or a bench with 100 clients on 127.0.0.1: only half-open sessions are limited per address.
        var server = new EnvelopeServer<int>("relay", TestSecurity.ServerKey, new EnvelopeLimits { MaxHalfOpenPerSource = 4, HelloBurst = 1000 });
        var reply = new byte[2048];
        for (int i = 0; i < 100; i++)
        {
            var client = NewClient((ulong)i + 1);
            var hello = new byte[Envelope.HelloSize];
            client.WriteHello(hello);
            Assert.Equal(EnvelopeEvent.Reply, server.Handle(hello, i, source: 1, i, reply, out int n));
            Assert.Equal(EnvelopeEvent.Established, client.Handle(reply.AsSpan(0, n), new byte[2048], out _, out _, out _));
            var sealedDatagram = new byte[10 + Envelope.Overhead];
            client.Seal(new byte[10], sealedDatagram);
            Assert.Equal(EnvelopeEvent.Opened, server.Handle(sealedDatagram, i, source: 1, i, reply, out _));
        }

        Assert.Equal(100, server.Count);
        Assert.Equal(0, server.HalfOpen);
    }

    [Fact]
    public void Half_open_sessions_from_many_sources_are_capped_and_the_oldest_evicted()
    {
        var limits = new EnvelopeLimits { MaxHalfOpen = 50 };
        var server = new EnvelopeServer<int>("relay", TestSecurity.ServerKey, limits);
        var hello = new byte[Envelope.HelloSize];
        NewClient(9).WriteHello(hello);
        var reply = new byte[2048];
        for (int i = 0; i < 500; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(hello.AsSpan(2), (ulong)i + 1);
            server.Handle(hello, i, source: (UInt128)i, i * 10, reply, out _);
        }

        Assert.Equal(50, server.HalfOpen);
        Assert.Equal(450, server.Stats.HalfOpenEvicted);

        // Half-open sessions expire; established ones stay until idle.
        server.Sweep(limits.HalfOpenMicros + 10_000);
        Assert.Equal(0, server.Count);
    }

    [Fact]
    public void Replay_window_accepts_each_counter_once_and_nothing_too_old()
    {
        var w = new ReplayWindow();
        foreach (ulong c in new ulong[] { 5, 3, 4, 10, 2000, 1500 })
        {
            Assert.True(w.MayAccept(c));
            w.Accept(c);
            Assert.False(w.MayAccept(c));
        }

        Assert.False(w.MayAccept(10)); // more than 1024 below 2000
        Assert.True(w.MayAccept(1999));
        w.Accept(5000);
        Assert.False(w.MayAccept(2000));
        Assert.True(w.MayAccept(4000));
    }
}
