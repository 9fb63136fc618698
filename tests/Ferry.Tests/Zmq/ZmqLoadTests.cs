using System.Security.Cryptography;
using Ferry.Transfers;
using Ferry.Zmq.Client;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Zmq;

/// <summary>Big and concurrent uploads end to end.</summary>
public sealed class ZmqLoadTests
{
    [ZmqFact]
    public async Task Ferry_client_uploads_256_MiB_with_pipelined_chunks()
    {
        // Over CURVE, the default a user gets.
        await using var server = new ZmqServerFixture(curve: true);
        string src = Path.Combine(server.Root, "..", "src-256.bin");
        const long size = 256L << 20;
        using (var f = File.Create(src))
        {
            var rng = new Random(256);
            byte[] block = new byte[1 << 20];
            for (long off = 0; off < size; off += block.Length)
            {
                rng.NextBytes(block);
                f.Write(block);
            }
        }

        var progress = new List<TransferProgress>();
        var client = new ZmqTransferClient();
        var result = await client.SendAsync(src, server.Url("big/256.bin"), server.ClientOptions(), new SyncProgress(progress), CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(3));

        string expected = Convert.ToHexStringLower(await SHA256.HashDataAsync(File.OpenRead(src)));
        Assert.Equal(size, result.Bytes);
        Assert.Equal(expected, result.Sha256Hex);
        Assert.Equal(256, result.Stats["chunks"]);
        Assert.True(result.Stats["window"] > 1);
        using (var stored = File.OpenRead(server.PathOf("big/256.bin")))
        {
            Assert.Equal(expected, Convert.ToHexStringLower(await SHA256.HashDataAsync(stored)));
        }

        Assert.Equal(new TransferProgress(size, size), progress[^1]);
        Assert.Equal(new TransferProgress(0, size) { ConnectingTo = progress[0].ConnectingTo }, progress[0]);
        Assert.NotNull(progress[0].ConnectingTo); // the first report: connecting, until the server answers
        File.Delete(src);
    }

    [ZmqFact]
    public async Task Twenty_clients_with_three_files_each_at_once()
    {
        await using var server = new ZmqServerFixture();
        const int clients = 20, files = 3;
        var data = new byte[clients, files][];
        for (int c = 0; c < clients; c++)
        {
            for (int f = 0; f < files; f++)
            {
                data[c, f] = Bytes(200_000 + (c * 7919) + (f * 104_729), (c * files) + f);
            }
        }

        using var start = new Barrier(clients);
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Factory.StartNew(
            () =>
            {
                using var d = new TestDealer(server.Endpoint);
                start.SignalAndWait(ZmqServerFixture.Wait);

                // All three files of this client interleaved on one connection, replies matched by order.
                int sent = 0;
                for (int f = 0; f < files; f++)
                {
                    d.Send(Hello($"c{c}/f{f}.bin"));
                    sent++;
                }

                const int chunk = 32 << 10;
                int max = Enumerable.Range(0, files).Max(f => data[c, f].Length);
                for (int off = 0; off < max; off += chunk)
                {
                    for (int f = 0; f < files; f++)
                    {
                        var b = data[c, f];
                        if (off < b.Length)
                        {
                            d.Send(Chunk($"c{c}/f{f}.bin", off, b[off..Math.Min(b.Length, off + chunk)]));
                            sent++;
                        }
                    }

                    // Keep the pipeline bounded: read what is owed beyond a window of 24.
                    while (sent > 24)
                    {
                        Assert.Equal("READY", d.Receive());
                        sent--;
                    }
                }

                for (int f = 0; f < files; f++)
                {
                    d.Send(Close($"c{c}/f{f}.bin", data[c, f].Length));
                    sent++;
                }

                for (; sent > 0; sent--)
                {
                    Assert.Equal("READY", d.Receive());
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(2));

        for (int c = 0; c < clients; c++)
        {
            for (int f = 0; f < files; f++)
            {
                Assert.Equal(data[c, f], server.ReadStored($"c{c}/f{f}.bin"));
            }
        }

        Assert.Empty(server.TempFiles());
        Assert.Equal(0, server.Context.Files.Registry.Count);
    }

    [ZmqFact]
    public async Task Concurrent_ferry_clients_racing_for_one_name_one_wins_the_others_are_refused()
    {
        await using var server = new ZmqServerFixture(curve: true);
        string src = Path.Combine(server.Root, "..", "race.bin");
        await File.WriteAllBytesAsync(src, Bytes(4 << 20, 5));
        var client = new ZmqTransferClient();
        var attempts = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            try
            {
                await client.SendAsync(src, server.Url("race"), server.ClientOptions(), new Progress<TransferProgress>(), CancellationToken.None);
                return ExitCode.Ok;
            }
            catch (TransferException e)
            {
                return e.Code;
            }
        })).ToArray();
        var codes = await Task.WhenAll(attempts).WaitAsync(TimeSpan.FromMinutes(1));

        // Exactly one stores it; the rest are refused (busy while it runs, exists afterwards).
        Assert.Equal(1, codes.Count(c => c == ExitCode.Ok));
        Assert.All(codes.Where(c => c != ExitCode.Ok), c => Assert.Equal(ExitCode.Refused, c));
        Assert.Equal(await File.ReadAllBytesAsync(src), await File.ReadAllBytesAsync(server.PathOf("race")));
    }

    private sealed class SyncProgress(List<TransferProgress> sink) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            lock (sink)
            {
                sink.Add(value);
            }
        }
    }
}
