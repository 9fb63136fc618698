using System.Buffers.Binary;
using System.Net;
using Ferry.Protocol.Relay;
using Ferry.Relay;
using Ferry.Tests.Support;
using Xunit.Abstractions;

namespace Ferry.Tests.Fuzz;

/// <summary>The relay server's peer-growable queues under floods: writer reorder buffer and pending replies.</summary>
[Collection(SerialCollection.Name)]
public class RelayFloodTests
{
    private static readonly IPEndPoint s_peer = new(IPAddress.Loopback, 6001);
    private readonly ITestOutputHelper _output;

    public RelayFloodTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Posts_far_ahead_of_the_missing_one_are_held_only_up_to_the_reorder_limit()
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var (server, session) = Registered();
        var options = new RelayServerOptions();
        var b = new byte[RelayWire.MaxDatagram];
        var line = new byte[900];
        line.AsSpan().Fill((byte)'x');
        for (long seq = 1; seq <= 100_000; seq++)
        {
            server.HandleDatagram(Post(b, session, seq, line), s_peer, 1);
        }

        long after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(0, server.PendingAppends);

        // The missing line arrives: exactly it and the held ones below the limit are accepted.
        server.HandleDatagram(Post(b, session, 0, line), s_peer, 2);
        Assert.Equal(options.WriterReorderLimit, server.PendingAppends);
        _output.WriteLine($"FLOOD relay writer reorder (limit {options.WriterReorderLimit}): 100,000 early 900-byte lines; managed heap {before:N0} -> {after:N0} (+{after - before:N0})");
        Assert.True(after - before < 16 << 20, $"heap grew by {after - before:N0} bytes");
        GC.KeepAlive(server);
    }

    [Fact]
    public void Pings_from_a_peer_that_never_reads_queue_at_most_the_reply_limit()
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var (server, session) = Registered();
        var ping = new byte[RelayWire.HeaderLength + RelayWire.TrailerLength];
        RelayCodec.WriteEmpty(ping, RelayPacketType.Ping, session);
        for (int i = 0; i < 100_000; i++)
        {
            server.HandleDatagram(ping, s_peer, 10);
        }

        long after = GC.GetTotalMemory(forceFullCollection: true);
        var buffer = new byte[RelayWire.MaxDatagram];
        int queued = 0;
        while (queued <= 100_000 && server.PollTransmit(buffer, 10, out _) > 0)
        {
            queued++;
        }

        int limit = new RelayServerOptions().MaxPendingReplies;
        Assert.InRange(queued, 1, limit);
        Assert.True(server.Stats.RepliesDropped >= 100_000 - limit);
        _output.WriteLine($"FLOOD relay pending replies (limit {limit}): 100,000 pings, {queued} queued; managed heap {before:N0} -> {after:N0} (+{after - before:N0})");
        Assert.True(after - before < 4 << 20, $"heap grew by {after - before:N0} bytes");
    }

    private static (RelayServer Server, ulong Session) Registered()
    {
        var ids = new Random(4);
        var server = new RelayServer(new RelayServerOptions(), new InMemoryMessageStore(), () => (ulong)ids.NextInt64(1, long.MaxValue));
        var b = new byte[RelayWire.MaxDatagram];
        int n = RelayCodec.WriteRegister(b, new RelayRegistration { ClientId = 9, Name = "w", Read = false, Write = true });
        server.HandleDatagram(b.AsSpan(0, n), s_peer, 0);
        Assert.True(server.PollTransmit(b, 0, out _) > 0);
        Assert.Equal((byte)RelayPacketType.Registered, b[1]);
        return (server, BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(2)));
    }

    private static ReadOnlySpan<byte> Post(byte[] b, ulong session, long seq, byte[] line)
    {
        int pos = RelayCodec.BeginPost(b, session, seq);
        RelayCodec.TryAppendPostLine(b, ref pos, line);
        return b.AsSpan(0, RelayCodec.FinishPost(b, pos, 1));
    }
}
