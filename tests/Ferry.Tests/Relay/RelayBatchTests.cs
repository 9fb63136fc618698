using System.Net;
using Ferry.Protocol.Relay;
using Ferry.Relay;

namespace Ferry.Tests.Relay;

/// <summary>
/// Batched writes (many lines per POST, one store transaction per batch, cumulative POST_ACKs) and large DELIVERs for
/// readers that asked for them, over the simulated network (fake clock, seeded impairments) and against the pure cores.
/// </summary>
public sealed class RelayBatchTests
{
    private static readonly IPEndPoint s_writerEndPoint = new(IPAddress.Parse("127.0.0.9"), 40009);

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    [InlineData(23)]
    public void BatchedWrites_UnderLossDuplicationReordering_EveryReaderGetsEveryLineOnceInOrder(int seed)
    {
        var net = new SimNetworkOptions { Loss = 0.1, Duplicate = 0.1, Corrupt = 0.01, LatencyMicros = 2_000, JitterMicros = 8_000 };
        var sim = new RelaySimulation(seed, net);
        var largestDeliver = new Dictionary<IPEndPoint, int>();
        var postLines = new List<int>();
        sim.Tap = (from, to, data) =>
        {
            if (RelayWire.TryOpen(data, RelayWire.MaxLargeDatagram, out var type, out _, out var body) != RelayDatagramStatus.Ok)
            {
                return;
            }

            if (type == RelayPacketType.Deliver)
            {
                largestDeliver[to] = Math.Max(largestDeliver.GetValueOrDefault(to), data.Length);
            }
            else if (type == RelayPacketType.Post)
            {
                Assert.True(data.Length <= RelayWire.MaxDatagram, $"a POST of {data.Length} bytes");
                var lines = new List<string>();
                Assert.True(RelayCodec.TryReadPost(body, out _, lines));
                postLines.Add(lines.Count);
            }
        };

        // Two readers as before (1200-byte DELIVERs) and two that asked for large ones (as a reader on the same host does).
        var readers = new[]
        {
            sim.AddClient("small0", read: true, write: false),
            sim.AddClient("small1", read: true, write: false),
            sim.AddClient("large0", read: true, write: false, maxDatagram: RelayWire.MaxLargeDatagram),
            sim.AddClient("large1", read: true, write: false, maxDatagram: 4_000),
        };
        var writers = Enumerable.Range(0, 3).Select(i => sim.AddClient($"writer{i}", read: false, write: true)).ToList();
        Assert.True(sim.RunUntil(() => sim.Clients.All(c => c.Client.State == RelayClientState.Ready)));
        const int perWriter = 600;
        for (int i = 0; i < writers.Count; i++)
        {
            writers[i].SubmitAll(RelaySimulationTests.Lines($"writer{i}", 0, perWriter));
        }

        int total = writers.Count * perWriter;
        Assert.True(sim.RunUntil(() => readers.All(r => r.Received.Count >= total) && writers.All(w => w.Client.UnacknowledgedLines == 0)),
            $"did not finish: {string.Join(",", readers.Select(r => r.Received.Count))} of {total}");
        foreach (var r in readers)
        {
            Assert.Equal(total, r.Received.Count);
            RelaySimulationTests.AssertExactlyOnceInOrder(r.Received, 1);
            for (int i = 0; i < writers.Count; i++)
            {
                Assert.Equal(RelaySimulationTests.Lines($"writer{i}", 0, perWriter), r.Received.Where(m => m.Author == $"writer{i}").Select(m => m.Text));
            }
        }

        Assert.Equal(total, sim.Store.LastSeq);
        Assert.True(sim.Server.Stats.DuplicateLines > 0, "duplication and retries should have delivered some lines twice to the server");

        // The writers packed their lines: far fewer POSTs than lines, and most POSTs carried many lines.
        Assert.True(postLines.Count < total / 5, $"{postLines.Count} POSTs for {total} lines");
        Assert.True(postLines.Max() > 50);

        // DELIVER sizes follow what each reader agreed to: 1200 bytes by default, more only for those that asked.
        Assert.Equal(RelayWire.MaxDatagram, readers[0].Client.Info!.MaxDeliverDatagram);
        Assert.True(largestDeliver[readers[0].EndPoint] <= RelayWire.MaxDatagram);
        Assert.True(largestDeliver[readers[1].EndPoint] <= RelayWire.MaxDatagram);
        Assert.Equal(new RelayServerOptions().MaxDeliverDatagram, readers[2].Client.Info!.MaxDeliverDatagram);
        Assert.InRange(largestDeliver[readers[2].EndPoint], RelayWire.MaxDatagram + 1, new RelayServerOptions().MaxDeliverDatagram);
        Assert.Equal(4_000, readers[3].Client.Info!.MaxDeliverDatagram);
        Assert.InRange(largestDeliver[readers[3].EndPoint], RelayWire.MaxDatagram + 1, 4_000);
    }

    [Fact]
    public void Batch_StraddlingTheDatagramLimit_FillsThePostExactly_AndTheLineThatDoesNotFitStartsTheNext()
    {
        var client = ReadyWriter(out ulong session, out long now);

        // A POST is 20 bytes of header and count, 4 of CRC, and 2 + n per line: two 586-byte lines fill 1200 bytes exactly.
        string a = new('a', 586), b = new('b', 586), c = new('c', 586), d = "d";
        foreach (var line in new[] { a, b, c, d })
        {
            Assert.Equal(RelaySubmitResult.Ok, client.Submit(line, out _));
        }

        var posts = DrainPosts(client, now);
        Assert.Equal(2, posts.Count);
        Assert.Equal(RelayWire.MaxDatagram, posts[0].Length);
        Assert.Equal(0L, posts[0].First);
        Assert.Equal([a, b], posts[0].Lines);
        Assert.Equal(2L, posts[1].First);
        Assert.Equal([c, d], posts[1].Lines);
        Assert.Equal(20 + 2 + 586 + 2 + 1 + 4, posts[1].Length);
        Assert.All(posts, p => Assert.Equal(session, p.Session));

        // A maximal line (1000 bytes) always fits a POST of its own.
        string max = new('m', RelayWire.MaxTextBytes);
        Assert.Equal(RelaySubmitResult.Ok, client.Submit(max, out long seq));
        var more = DrainPosts(client, now);
        Assert.Equal((seq, 1), (more.Single().First, more.Single().Lines.Count));
    }

    [Fact]
    public void RetriedBatch_IsStoredOnce_BeforeAndAfterTheCommit_AndAfterAServerRestart()
    {
        var store = new InMemoryMessageStore();
        long now = 5_000_000;
        var server = new RelayServer(new RelayServerOptions(), store, () => 0x1234);
        var client = new RelayClient(new RelayClientOptions { ClientId = 77, Name = "w", Read = false }, now);
        Exchange(client, server, now);
        Assert.Equal(RelayClientState.Ready, client.State);

        var lines = RelaySimulationTests.Lines("batch", 0, 30).ToList();
        foreach (var line in lines)
        {
            client.Submit(line, out _);
        }

        var post = DrainPosts(client, now).Single();
        Assert.Equal(30, post.Lines.Count);

        // The same datagram three times before the store commits: accepted once, the repeats are retries.
        for (int i = 0; i < 3; i++)
        {
            server.HandleDatagram(post.Bytes, s_writerEndPoint, now);
        }

        Assert.Equal(30, server.PendingAppends);
        Commit(server, store, now);
        Assert.Equal(30, store.LastSeq);
        Assert.Equal(60, server.Stats.DuplicateLines);
        Assert.Equal(30, PostAcks(server, now).Single());

        // The POST_ACK was lost and the writer resends the batch after the commit: nothing stored, the POST_ACK is repeated.
        server.HandleDatagram(post.Bytes, s_writerEndPoint, now);
        Assert.Equal(0, server.PendingAppends);
        Assert.Equal(30, PostAcks(server, now).Single());

        // The server restarts before the writer heard any POST_ACK: the writer registers again from writer sequence 0 and
        // resends the whole batch; the store's (client id, writer sequence) index finds every line, nothing is stored twice.
        var restarted = new RelayServer(new RelayServerOptions(), store, () => 0x5678);
        var register = new byte[RelayWire.MaxDatagram];
        int n = RelayCodec.WriteRegister(register, new RelayRegistration { ClientId = 77, Name = "w", Write = true });
        restarted.HandleDatagram(register.AsSpan(0, n), s_writerEndPoint, now);
        var buffer = new byte[RelayWire.MaxDatagram];
        Assert.True(restarted.PollTransmit(buffer, now, out _) > 0); // REGISTERED
        int pos = RelayCodec.BeginPost(buffer, 0x5678, 0);
        foreach (var line in lines)
        {
            Assert.True(RelayCodec.TryAppendPostLine(buffer, ref pos, System.Text.Encoding.UTF8.GetBytes(line)));
        }

        restarted.HandleDatagram(buffer.AsSpan(0, RelayCodec.FinishPost(buffer, pos, lines.Count)), s_writerEndPoint, now);
        Commit(restarted, store, now);
        Assert.Equal(30, store.LastSeq);
        Assert.Equal(30, restarted.Stats.StoreDuplicates);
        Assert.Equal(0, restarted.Stats.LinesStored);
        Assert.Equal(30, PostAcks(restarted, now).Single());
    }

    [Fact]
    public void LineAboveTheLimit_InTheMiddleOfABatch_IsRefusedAtTheWriter_AndTheRestIsDeliveredWhole()
    {
        var sim = new RelaySimulation(31, new SimNetworkOptions { Loss = 0.05, LatencyMicros = 1_000, JitterMicros = 3_000 });
        var reader = sim.AddClient("r", read: true, write: false, maxDatagram: RelayWire.MaxLargeDatagram);
        var writer = sim.AddClient("w", read: false, write: true);
        Assert.True(sim.RunUntil(() => sim.Clients.All(c => c.Client.State == RelayClientState.Ready)));
        writer.SubmitAll(RelaySimulationTests.Lines("before", 0, 50));
        Assert.Equal(RelaySubmitResult.TooLong, writer.Client.Submit(new string('x', RelayWire.MaxTextBytes + 1), out long refusedSeq));
        Assert.Equal(-1, refusedSeq);
        string longest = new('y', RelayWire.MaxTextBytes);
        writer.SubmitAll([longest]);
        writer.SubmitAll(RelaySimulationTests.Lines("after", 0, 50));
        Assert.Equal(101, writer.Client.UnacknowledgedLines);
        Assert.True(sim.RunUntil(() => reader.Received.Count == 101 && writer.Client.UnacknowledgedLines == 0));
        RelaySimulationTests.AssertExactlyOnceInOrder(reader.Received, 1);
        Assert.Equal(RelaySimulationTests.Lines("before", 0, 50).Append(longest).Concat(RelaySimulationTests.Lines("after", 0, 50)), reader.Received.Select(m => m.Text));
    }

    [Fact]
    public void Deliver_LargerThanTheReaderAskedFor_IsDropped()
    {
        long now = 1_000;
        var client = new RelayClient(new RelayClientOptions { ClientId = 5, Name = "r", Write = false }, now);
        var buffer = new byte[RelayWire.MaxLargeDatagram];
        Assert.True(client.PollTransmit(buffer, now) > 0);
        int n = RelayCodec.WriteRegistered(buffer, 9, new RelayRegisteredInfo { ClientId = 5, ReaderStart = 1, FirstSeq = 1 });
        client.HandleDatagram(buffer.AsSpan(0, n), now);
        Assert.Equal(RelayClientState.Ready, client.State);

        // A well-formed DELIVER of 2,000 bytes to a reader that never asked for more than 1200: dropped as malformed.
        int pos = RelayCodec.BeginDeliver(buffer, 9, 1, 0);
        int count = 0;
        for (; pos < 1_900; count++)
        {
            var entry = RelayCodec.EncodeEntry(new RelayMessage(1 + count, 0, "a", new string('z', 90)));
            entry.CopyTo(buffer.AsSpan(pos));
            pos += entry.Length;
        }

        int length = RelayCodec.FinishDeliver(buffer, pos, count);
        Assert.True(length > RelayWire.MaxDatagram);
        client.HandleDatagram(buffer.AsSpan(0, length), now);
        Assert.Equal(1, client.Stats.DroppedMalformed);
        Assert.Equal(0, client.ReadyCount);
    }

    private static RelayClient ReadyWriter(out ulong session, out long now)
    {
        now = 2_000_000;
        session = 0xABCDEF;
        var client = new RelayClient(new RelayClientOptions { ClientId = 3, Name = "w", Read = false }, now);
        var buffer = new byte[RelayWire.MaxDatagram];
        Assert.True(client.PollTransmit(buffer, now) > 0);
        int n = RelayCodec.WriteRegistered(buffer, session, new RelayRegisteredInfo { ClientId = 3 });
        client.HandleDatagram(buffer.AsSpan(0, n), now);
        Assert.Equal(RelayClientState.Ready, client.State);
        return client;
    }

    private static List<(ulong Session, long First, List<string> Lines, int Length, byte[] Bytes)> DrainPosts(RelayClient client, long now)
    {
        var posts = new List<(ulong, long, List<string>, int, byte[])>();
        var buffer = new byte[RelayWire.MaxLargeDatagram];
        int n;
        while ((n = client.PollTransmit(buffer, now)) > 0)
        {
            Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(buffer.AsSpan(0, n), out var type, out ulong session, out var body));
            Assert.Equal(RelayPacketType.Post, type);
            var lines = new List<string>();
            Assert.True(RelayCodec.TryReadPost(body, out long first, lines));
            posts.Add((session, first, lines, n, buffer.AsSpan(0, n).ToArray()));
        }

        return posts;
    }

    /// <summary>Carries REGISTER/REGISTERED between a client and a server without loss.</summary>
    private static void Exchange(RelayClient client, RelayServer server, long now)
    {
        var buffer = new byte[RelayWire.MaxLargeDatagram];
        for (int round = 0; round < 4; round++)
        {
            int n;
            while ((n = client.PollTransmit(buffer, now)) > 0)
            {
                server.HandleDatagram(buffer.AsSpan(0, n), s_writerEndPoint, now);
            }

            while ((n = server.PollTransmit(buffer, now, out _)) > 0)
            {
                client.HandleDatagram(buffer.AsSpan(0, n), now);
            }
        }
    }

    private static void Commit(RelayServer server, IMessageStore store, long now)
    {
        var batch = new List<RelayAppend>();
        var results = new List<RelayAppendResult>();
        server.TakeAppends(batch);
        store.Append(batch, results);
        server.OnAppended(results, now);
    }

    /// <summary>The stored-below value of every POST_ACK the server has queued.</summary>
    private static List<long> PostAcks(RelayServer server, long now)
    {
        var acks = new List<long>();
        var buffer = new byte[RelayWire.MaxDatagram];
        int n;
        while ((n = server.PollTransmit(buffer, now, out _)) > 0)
        {
            Assert.Equal(RelayDatagramStatus.Ok, RelayWire.TryOpen(buffer.AsSpan(0, n), out var type, out _, out var body));
            if (type == RelayPacketType.PostAck)
            {
                Assert.True(RelayCodec.TryReadU64(body, out long storedBelow));
                acks.Add(storedBelow);
            }
        }

        return acks;
    }
}
