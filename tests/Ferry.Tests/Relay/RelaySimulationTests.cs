using Ferry.Protocol.Relay;

namespace Ferry.Tests.Relay;

/// <summary>Writer -> server -> reader over a simulated network with a fake clock and seeded impairments.</summary>
public sealed class RelaySimulationTests
{
    [Fact]
    public void CleanNetwork_EveryReaderGetsEveryLineOnceInOrder()
    {
        var sim = new RelaySimulation(1, new SimNetworkOptions());
        RunWritersAndReaders(sim, writers: 3, readers: 3, linesPerWriter: 300);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    public void LossDuplicationReorderingCorruption_EveryReaderGetsEveryLineOnceInOrder(int seed)
    {
        var net = new SimNetworkOptions { Loss = 0.1, Duplicate = 0.05, Corrupt = 0.02, LatencyMicros = 2_000, JitterMicros = 6_000 };
        var sim = new RelaySimulation(seed, net);
        RunWritersAndReaders(sim, writers: 3, readers: 3, linesPerWriter: 300);
        Assert.True(sim.NetworkDrops > 0);
        Assert.True(sim.Server.Stats.DroppedCorrupt > 0 || sim.Clients.Any(c => c.Client.Stats.DroppedCorrupt > 0));
        Assert.True(sim.Server.Stats.MessagesRetransmitted > 0);
    }

    [Fact]
    public void HeavyLoss_StillExactlyOnce()
    {
        var net = new SimNetworkOptions { Loss = 0.3, Duplicate = 0.1, LatencyMicros = 5_000, JitterMicros = 20_000 };
        var sim = new RelaySimulation(99, net);
        RunWritersAndReaders(sim, writers: 2, readers: 2, linesPerWriter: 150);
    }

    [Fact]
    public void ServerRestart_NothingAcknowledgedLostNothingDuplicated()
    {
        var net = new SimNetworkOptions { Loss = 0.05, LatencyMicros = 1_000, JitterMicros = 2_000 };
        var sim = new RelaySimulation(7, net);
        var reader = sim.AddClient("reader", read: true, write: false);
        var writer = sim.AddClient("writer", read: false, write: true);
        Assert.True(sim.RunUntil(() => writer.Client.State == RelayClientState.Ready && reader.Client.State == RelayClientState.Ready));
        writer.SubmitAll(Lines("w", 0, 200));
        Assert.True(sim.RunUntil(() => writer.Client.AcknowledgedBelow >= 100));

        // The server process dies: its sessions vanish; the store (the SQLite file in real life) stays.
        sim.RestartServer();
        writer.SubmitAll(Lines("w", 200, 300));
        Assert.True(sim.RunUntil(() => writer.Client.UnacknowledgedLines == 0 && reader.Received.Count == 300));
        AssertExactlyOnceInOrder(reader.Received, 1);
        Assert.Equal(Lines("w", 0, 300), reader.Received.Select(m => m.Text));
        Assert.True(writer.Client.Stats.Reregistrations >= 1);
        Assert.Equal(300, sim.Store.LastSeq);
    }

    [Fact]
    public void StalledReader_DoesNotSlowOthers_AndCatchesUpFromStorage()
    {
        var sim = new RelaySimulation(5, new SimNetworkOptions { LatencyMicros = 1_000 }, new RelayServerOptions { CacheSize = 128, ReaderWindow = 64 });
        var fast = sim.AddClient("fast", read: true, write: false);
        var slow = sim.AddClient("slow", read: true, write: false, receiveCapacity: 100);
        var writer = sim.AddClient("writer", read: false, write: true);
        Assert.True(sim.RunUntil(() => sim.Clients.All(c => c.Client.State == RelayClientState.Ready)));
        slow.Reading = false;
        writer.SubmitAll(Lines("x", 0, 2000));
        Assert.True(sim.RunUntil(() => fast.Received.Count == 2000 && writer.Client.UnacknowledgedLines == 0));
        Assert.True(slow.Client.ReadyCount <= 100);
        long historyBefore = sim.Server.Stats.HistoryReads;

        // Stalled for a long while: keepalives keep the session; its window stays closed, so nothing is resent in a loop.
        long sentBefore = sim.Server.Stats.MessagesSent + sim.Server.Stats.MessagesRetransmitted;
        sim.RunFor(30_000_000);
        Assert.Equal(RelayClientState.Ready, slow.Client.State);
        Assert.True(sim.Server.Stats.MessagesSent + sim.Server.Stats.MessagesRetransmitted - sentBefore < 200);

        slow.Reading = true;
        Assert.True(sim.RunUntil(() => slow.Received.Count == 2000));
        AssertExactlyOnceInOrder(slow.Received, 1);
        Assert.True(sim.Server.Stats.HistoryReads > historyBefore, "the slow reader should have been served from the store");
    }

    [Fact]
    public void DelayedReader_GetsBatchesOnlyAtBatchTimes()
    {
        var sim = new RelaySimulation(3, new SimNetworkOptions { LatencyMicros = 1_000 });
        var batched = sim.AddClient("batched", read: true, write: false, delayMillis: 1000);
        long registeredAt = sim.Now;
        var writer = sim.AddClient("writer", read: false, write: true);
        Assert.True(sim.RunUntil(() => sim.Clients.All(c => c.Client.State == RelayClientState.Ready)));
        var arrivals = new List<(long At, int Count)>();
        for (int i = 0; i < 25; i++)
        {
            writer.SubmitAll(Lines("d", i, i + 1));
            sim.RunFor(150_000);
            if (batched.Received.Count > arrivals.Sum(a => a.Count))
            {
                arrivals.Add((sim.Now, batched.Received.Count - arrivals.Sum(a => a.Count)));
            }
        }

        sim.RunFor(1_100_000);
        Assert.Equal(25, batched.Received.Count);
        AssertExactlyOnceInOrder(batched.Received, 1);

        // Lines were posted every 150 ms, so without batching there would be ~25 arrivals; with 1 s batches about 4.
        Assert.InRange(arrivals.Count, 3, 5);
        foreach (var (at, count) in arrivals)
        {
            // Each batch arrives shortly (network latency, one sampling step) after a multiple of the delay since registration.
            long phase = (at - registeredAt) % 1_000_000;
            Assert.True(phase < 160_000, $"batch at +{(at - registeredAt) / 1000} ms is not on the 1 s grid");
            Assert.True(count >= 1);
        }
    }

    [Fact]
    public void SinceSequence_ReplaysHistoryThenFollowsLive()
    {
        var sim = new RelaySimulation(8, new SimNetworkOptions());
        var writer = sim.AddClient("w", read: false, write: true);
        writer.SubmitAll(Lines("h", 0, 100));
        Assert.True(sim.RunUntil(() => writer.Client.UnacknowledgedLines == 0));
        var late = sim.AddClient("late", read: true, write: false, since: RelaySinceKind.Sequence, sinceValue: 40);
        var live = sim.AddClient("live", read: true, write: false);
        Assert.True(sim.RunUntil(() => late.Received.Count == 61 && live.Client.State == RelayClientState.Ready));
        writer.SubmitAll(Lines("h", 100, 110));
        Assert.True(sim.RunUntil(() => late.Received.Count == 71 && live.Received.Count == 10));
        AssertExactlyOnceInOrder(late.Received, 40);
        AssertExactlyOnceInOrder(live.Received, 101);
    }

    [Fact]
    public void SinceTime_StartsAtFirstMessageAtOrAfterTime()
    {
        var sim = new RelaySimulation(9, new SimNetworkOptions());
        var writer = sim.AddClient("w", read: false, write: true);
        writer.SubmitAll(Lines("a", 0, 10));
        Assert.True(sim.RunUntil(() => writer.Client.UnacknowledgedLines == 0));
        sim.RunFor(5_000_000);
        long cut = sim.Store.LastSeq;
        writer.SubmitAll(Lines("b", 0, 5));
        Assert.True(sim.RunUntil(() => writer.Client.UnacknowledgedLines == 0));
        var list = new List<Ferry.Protocol.Relay.RelayMessage>();
        sim.Store.Read(cut + 1, 1, list);
        var reader = sim.AddClient("r", read: true, write: false, since: RelaySinceKind.Time, sinceValue: list[0].TimestampMs);
        Assert.True(sim.RunUntil(() => reader.Received.Count == 5));
        Assert.Equal(Lines("b", 0, 5), reader.Received.Select(m => m.Text));
    }

    [Fact]
    public void NameHeldByLiveSession_IsRefused_AndFreedByBye()
    {
        var sim = new RelaySimulation(4, new SimNetworkOptions());
        var first = sim.AddClient("alice", read: true, write: true);
        Assert.True(sim.RunUntil(() => first.Client.State == RelayClientState.Ready));
        var second = sim.AddClient("alice", read: true, write: false);
        Assert.True(sim.RunUntil(() => second.Client.State == RelayClientState.Failed));
        var refused = Assert.Single(second.Events, e => e.Kind == RelayClientEventKind.Refused);
        Assert.Equal(RelayRefusal.NameInUse, refused.Refusal);
        Assert.Contains("alice", refused.Text);

        first.Client.Close();
        var third = sim.AddClient("alice", read: true, write: false);
        Assert.True(sim.RunUntil(() => third.Client.State == RelayClientState.Ready));
    }

    [Fact]
    public void SilentClient_ExpiresAndFreesItsName()
    {
        var sim = new RelaySimulation(6, new SimNetworkOptions());
        var ghost = sim.AddClient("ghost", read: true, write: false);
        Assert.True(sim.RunUntil(() => ghost.Client.State == RelayClientState.Ready));
        sim.Clients.Remove(ghost);   // vanishes without BYE
        sim.RunFor(16_000_000);
        Assert.Equal(0, sim.Server.SessionCount);
        Assert.Equal(1, sim.Server.Stats.SessionsExpired);
        var again = sim.AddClient("ghost", read: true, write: false);
        Assert.True(sim.RunUntil(() => again.Client.State == RelayClientState.Ready));
    }

    [Fact]
    public void ServerGone_ClientTimesOut()
    {
        var sim = new RelaySimulation(10, new SimNetworkOptions { Loss = 1.0 });
        var c = sim.AddClient("lonely", read: true, write: true);
        Assert.True(sim.RunUntil(() => c.Client.State == RelayClientState.Failed));
        Assert.Contains(c.Events, e => e.Kind == RelayClientEventKind.TimedOut);
    }

    [Fact]
    public void PrunedHistory_IsReportedAndSkipped()
    {
        var sim = new RelaySimulation(12, new SimNetworkOptions(), new RelayServerOptions { CacheSize = 16 });
        var writer = sim.AddClient("w", read: false, write: true);
        writer.SubmitAll(Lines("p", 0, 100));
        Assert.True(sim.RunUntil(() => writer.Client.UnacknowledgedLines == 0));
        sim.Store.Prune(new Ferry.Relay.RelayRetention(60, null));
        var reader = sim.AddClient("r", read: true, write: false, since: RelaySinceKind.Sequence, sinceValue: 1);
        Assert.True(sim.RunUntil(() => reader.Received.Count == 60));
        AssertExactlyOnceInOrder(reader.Received, 41);
    }

    internal static IEnumerable<string> Lines(string prefix, int from, int to)
        => Enumerable.Range(from, to - from).Select(i => $"{prefix}-{i}");

    private static void RunWritersAndReaders(RelaySimulation sim, int writers, int readers, int linesPerWriter)
    {
        var rs = Enumerable.Range(0, readers).Select(i => sim.AddClient($"reader{i}", read: true, write: false)).ToList();
        var ws = Enumerable.Range(0, writers).Select(i => sim.AddClient($"writer{i}", read: false, write: true)).ToList();
        Assert.True(sim.RunUntil(() => sim.Clients.All(c => c.Client.State == RelayClientState.Ready)), "registration did not finish");
        for (int i = 0; i < writers; i++)
        {
            ws[i].SubmitAll(Lines($"writer{i}", 0, linesPerWriter));
        }

        int total = writers * linesPerWriter;
        bool done = sim.RunUntil(() => rs.All(r => r.Received.Count >= total) && ws.All(w => w.Client.UnacknowledgedLines == 0));
        Assert.True(done, $"did not finish: received {string.Join(",", rs.Select(r => r.Received.Count))} of {total}");
        foreach (var r in rs)
        {
            Assert.Equal(total, r.Received.Count);
            AssertExactlyOnceInOrder(r.Received, 1);
            for (int i = 0; i < writers; i++)
            {
                // Each writer's lines arrive complete and in the writer's order.
                Assert.Equal(Lines($"writer{i}", 0, linesPerWriter), r.Received.Where(m => m.Author == $"writer{i}").Select(m => m.Text));
            }
        }

        Assert.Equal(total, sim.Store.LastSeq);
    }

    internal static void AssertExactlyOnceInOrder(IReadOnlyList<RelayMessage> received, long firstSeq)
    {
        for (int i = 0; i < received.Count; i++)
        {
            Assert.Equal(firstSeq + i, received[i].Seq);
        }
    }
}
