using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ferry.Protocol.Relay;
using Ferry.Transfers;

namespace Ferry.Tests.Relay;

/// <summary>Real listener and client classes over UDP on 127.0.0.1 with ephemeral ports; waits are event-driven and bounded.</summary>
public sealed class RelayEndToEndTests : IDisposable
{
    private readonly string _stateDir = RelayTestServer.NewStateDir();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_stateDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task ThreeWritersThreeReaders_EveryReaderGetsEveryLineOnceInOrder()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        var readers = new List<Ferry.Relay.RelayChatClient>();
        for (int i = 0; i < 3; i++)
        {
            readers.Add(await server.ConnectAsync($"reader{i}", write: false));
        }

        var writers = new List<Ferry.Relay.RelayChatClient>();
        for (int i = 0; i < 3; i++)
        {
            writers.Add(await server.ConnectAsync($"writer{i}", read: false));
        }

        const int perWriter = 500;
        var posting = writers.Select((w, i) => Task.Run(async () =>
        {
            foreach (var line in RelaySimulationTests.Lines($"writer{i}", 0, perWriter))
            {
                await w.PostAsync(line, RelayTestServer.Timeout());
            }

            await w.FlushAsync(RelayTestServer.Timeout());
        })).ToList();
        var reading = readers.Select(r => ReadCountAsync(r, 3 * perWriter)).ToList();
        await Task.WhenAll(posting);
        var results = await Task.WhenAll(reading);
        foreach (var received in results)
        {
            RelaySimulationTests.AssertExactlyOnceInOrder(received, 1);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(RelaySimulationTests.Lines($"writer{i}", 0, perWriter), received.Where(m => m.Author == $"writer{i}").Select(m => m.Text));
            }
        }

        await DisposeAll(readers.Concat(writers));
    }

    [Fact]
    public async Task NameInUse_IsRefusedWithClearError_AndFreedWhenTheHolderLeaves()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        var alice = await server.ConnectAsync("alice");
        var e = await Assert.ThrowsAsync<TransferException>(() => server.ConnectAsync("alice"));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("'alice' is in use", e.Message);

        await alice.DisposeAsync();   // sends BYE
        var again = await ConnectEventuallyAsync(server, "alice");
        await again.DisposeAsync();
    }

    [Fact]
    public async Task DelayedReader_ReceivesInBatches()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        var writer = await server.ConnectAsync("w", read: false);
        var clock = Stopwatch.StartNew();
        var batched = await server.ConnectAsync("batched", write: false, delay: TimeSpan.FromSeconds(1));
        for (int i = 0; i < 5; i++)
        {
            await writer.PostAsync($"line {i}", RelayTestServer.Timeout());
        }

        await writer.FlushAsync(RelayTestServer.Timeout());
        var first = await batched.ReadAsync(RelayTestServer.Timeout());
        var firstAt = clock.Elapsed;

        // The server holds the lines until the batch tick, a full delay after it registered the reader (which is after the clock started).
        Assert.True(firstAt >= TimeSpan.FromMilliseconds(995), $"first message after {firstAt.TotalMilliseconds} ms, before the 1 s batch");
        var rest = new List<RelayMessage> { first };
        for (int i = 1; i < 5; i++)
        {
            rest.Add(await batched.ReadAsync(RelayTestServer.Timeout()));
        }

        RelaySimulationTests.AssertExactlyOnceInOrder(rest, 1);

        // All five were posted before the first batch, so they arrived together.
        Assert.True(clock.Elapsed - firstAt < TimeSpan.FromMilliseconds(500));

        await writer.PostAsync("later", RelayTestServer.Timeout());
        await writer.FlushAsync(RelayTestServer.Timeout());
        var later = await batched.ReadAsync(RelayTestServer.Timeout());
        Assert.Equal("later", later.Text);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1995), "the second batch comes a delay after the first");
        await DisposeAll([writer, batched]);
    }

    [Fact]
    public async Task SinceReplay_AfterServerRestart_LosesNothingAcknowledged()
    {
        int port;
        await using (var first = RelayTestServer.Start(_stateDir))
        {
            port = first.Port;
            var writer = await first.ConnectAsync("w", read: false);
            foreach (var line in RelaySimulationTests.Lines("before", 0, 300))
            {
                await writer.PostAsync(line, RelayTestServer.Timeout());
            }

            await writer.FlushAsync(RelayTestServer.Timeout());
            await writer.DisposeAsync();
        }

        await using var second = RelayTestServer.Start(_stateDir);
        var reader = await second.ConnectAsync("r", write: false, since: RelaySinceKind.Sequence, sinceValue: 1);
        var history = await ReadCountAsync(reader, 300);
        RelaySimulationTests.AssertExactlyOnceInOrder(history, 1);
        Assert.Equal(RelaySimulationTests.Lines("before", 0, 300), history.Select(m => m.Text));

        // Then it follows live, continuing the sequence.
        var writer2 = await second.ConnectAsync("w2", read: false);
        await writer2.PostAsync("after restart", RelayTestServer.Timeout());
        var live = await reader.ReadAsync(RelayTestServer.Timeout());
        Assert.Equal(301, live.Seq);
        Assert.Equal("after restart", live.Text);
        await DisposeAll([reader, writer2]);
    }

    [Fact]
    public async Task LiveClients_SurviveServerRestart_OnTheSamePort()
    {
        var first = RelayTestServer.Start(_stateDir);
        int port = first.Port;
        var writer = await first.ConnectAsync("w", read: false);
        var reader = await first.ConnectAsync("r", write: false);
        foreach (var line in RelaySimulationTests.Lines("a", 0, 100))
        {
            await writer.PostAsync(line, RelayTestServer.Timeout());
        }

        await writer.FlushAsync(RelayTestServer.Timeout());
        var got = await ReadCountAsync(reader, 100);
        await first.DisposeAsync();

        await using var second = RelayTestServer.Start(_stateDir, port);
        foreach (var line in RelaySimulationTests.Lines("b", 0, 100))
        {
            await writer.PostAsync(line, RelayTestServer.Timeout());
        }

        await writer.FlushAsync(RelayTestServer.Timeout());
        got.AddRange(await ReadCountAsync(reader, 100));
        RelaySimulationTests.AssertExactlyOnceInOrder(got, 1);
        Assert.True(writer.Stats.Reregistrations >= 1);
        await DisposeAll([writer, reader]);
    }

    [Fact]
    public async Task ReaderThatStopsReading_DoesNotBlockOthers_AndCatchesUpFromStorage()
    {
        // Small caches force the stalled reader to catch up from SQLite, not from memory.
        await using var server = RelayTestServer.Start(_stateDir, core: new RelayServerOptions { CacheSize = 64, ReaderWindow = 128, HistoryBlocks = 2 });
        var stalled = await server.ConnectAsync("stalled", write: false, receiveCapacity: 64);
        var active = await server.ConnectAsync("active", write: false);
        var writer = await server.ConnectAsync("w", read: false);
        const int total = 3000;
        var activeTask = ReadCountAsync(active, total);
        foreach (var line in RelaySimulationTests.Lines("x", 0, total))
        {
            await writer.PostAsync(line, RelayTestServer.Timeout());
        }

        await writer.FlushAsync(RelayTestServer.Timeout());
        var activeGot = await activeTask;
        RelaySimulationTests.AssertExactlyOnceInOrder(activeGot, 1);
        long historyReads = server.Listener.Stats.HistoryReads;

        var stalledGot = await ReadCountAsync(stalled, total);
        RelaySimulationTests.AssertExactlyOnceInOrder(stalledGot, 1);
        Assert.True(server.Listener.Stats.HistoryReads > historyReads, "the stalled reader should catch up from the store");
        await DisposeAll([stalled, active, writer]);
    }

    [Fact]
    public async Task OversizeLine_IsRefusedAtTheWriter_NothingSent()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        var writer = await server.ConnectAsync("w", read: false);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => writer.PostAsync(new string('x', RelayWire.MaxTextBytes + 1), RelayTestServer.Timeout()).AsTask());
        Assert.Contains("at most 1000", e.Message);
        await writer.PostAsync(new string('x', RelayWire.MaxTextBytes), RelayTestServer.Timeout());
        await writer.FlushAsync(RelayTestServer.Timeout());
        Assert.Equal(1, server.Listener.Store.LastSeq);
        await writer.DisposeAsync();
    }

    [Fact]
    public async Task MalformedDatagrams_DoNotCrashTheServer_WhileClientsWork()
    {
        // --insecure on the server lets cleartext junk reach the relay core's parser (the clients still encrypt).
        await using var server = RelayTestServer.Start(_stateDir, allowInsecure: true);
        var reader = await server.ConnectAsync("r", write: false);
        var writer = await server.ConnectAsync("w", read: false);
        using var junk = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var target = new IPEndPoint(IPAddress.Loopback, server.Port);
        var rng = new Random(42);
        var readTask = ReadCountAsync(reader, 200);
        for (int i = 0; i < 3000; i++)
        {
            var bytes = new byte[rng.Next(0, 1400)];
            rng.NextBytes(bytes);
            if (i % 3 == 0 && bytes.Length > 14)
            {
                bytes[0] = RelayWire.Version;
                bytes[1] = (byte)rng.Next(1, 12);
                RelayWire.Seal(bytes, bytes.Length - RelayWire.TrailerLength);
            }

            junk.SendTo(bytes, target);
            if (i % 15 == 0)
            {
                await writer.PostAsync($"line {i / 15}", RelayTestServer.Timeout());
            }
        }

        await writer.FlushAsync(RelayTestServer.Timeout());
        var got = await readTask;
        RelaySimulationTests.AssertExactlyOnceInOrder(got, 1);
        var stats = server.Listener.Stats;
        Assert.True(stats.DroppedCorrupt + stats.DroppedMalformed + stats.UnknownSession > 0);
        await DisposeAll([reader, writer]);
    }

    private static async Task<List<RelayMessage>> ReadCountAsync(Ferry.Relay.RelayChatClient reader, int count)
    {
        var list = new List<RelayMessage>(count);
        var ct = RelayTestServer.Timeout(60);
        while (list.Count < count)
        {
            list.Add(await reader.ReadAsync(ct));
        }

        return list;
    }

    private static async Task<Ferry.Relay.RelayChatClient> ConnectEventuallyAsync(RelayTestServer server, string user)
    {
        // The BYE is one datagram; on loopback it arrives, but do not depend on ordering with our next REGISTER.
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await server.ConnectAsync(user);
            }
            catch (TransferException e) when (e.Code == ExitCode.Refused && attempt < 20)
            {
                await Task.Delay(50);
            }
        }
    }

    private static async Task DisposeAll(IEnumerable<Ferry.Relay.RelayChatClient> clients)
    {
        foreach (var c in clients)
        {
            await c.DisposeAsync();
        }
    }
}
