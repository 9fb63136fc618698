using Ferry.Protocol.Tcp;
using Ferry.Tcp;
using Ferry.Transfers;
using Xunit.Abstractions;

namespace Ferry.Tests.Tcp;

/// <summary>Lost streams, server shutdown and resume, and corrupted data, through the real listener and client.</summary>
public sealed class TcpFaultTests(ITestOutputHelper output)
{
    private const int Bs = TcpTestEnv.BlockSize;

    /// <summary>
    /// Kills stream 1 at its first item. The other streams hold their first item until then, or, with
    /// <paramref name="back"/>, until stream 1 has reconnected and asks for an item again: otherwise they could
    /// finish the file before the reconnection, and whether it happens at all would be a race.
    /// </summary>
    private static TcpTestHooks KillStreamOneOnce(TaskCompletionSource killed, TaskCompletionSource? back = null) => new()
    {
        BeforeSendItem = async (stream, item, ct) =>
        {
            if (stream == 1)
            {
                if (killed.TrySetResult())
                {
                    return false; // kill, the first time only
                }

                back?.TrySetResult();
                return true;
            }

            await (back ?? killed).Task.WaitAsync(ct);
            return true;
        },
    };

    [Theory]
    [InlineData(3)]   // the client reconnects stream 1
    [InlineData(0)]   // no reconnect: the remaining streams finish the job
    public async Task Download_StreamKilledByServerSide_StillCompletes(int maxReconnects)
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), (24 * Bs) + 99, seed: 21);
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var back = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int streamOneItems = 0;

        // Stream 1 is killed on its first item. With reconnects, the others wait until stream 1 is back (so the
        // client has certainly seen the loss); without, they go on as soon as it is dead.
        var hooks = new TcpTestHooks
        {
            BeforeSendItem = async (stream, item, ct) =>
            {
                if (stream == 1)
                {
                    if (Interlocked.Increment(ref streamOneItems) > 1)
                    {
                        back.TrySetResult();
                        return true;
                    }

                    killed.TrySetResult();
                    return false;
                }

                await (maxReconnects > 0 ? back.Task : killed.Task).WaitAsync(ct);
                return true;
            },
        };
        var server = await env.StartServerAsync(hooks);
        string dest = Path.Combine(env.Local, "f.bin");

        var result = await TcpTestEnv.Client(maxReconnects: maxReconnects).GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(4), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.True(killed.Task.IsCompleted);
        Assert.Equal(data, await File.ReadAllBytesAsync(dest));
        Assert.Equal(1, server.Listener.Counters.StreamsLost);
        if (maxReconnects > 0)
        {
            Assert.Equal(1, result.Stats["streams_lost"]);
            Assert.Equal(1, result.Stats["reconnects"]);
        }
        else
        {
            // Stream 1 never came back; whether the client noticed its loss before the end is a race.
            Assert.Equal(1, Volatile.Read(ref streamOneItems));
            Assert.Equal(0, result.Stats["reconnects"]);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(0)]
    public async Task Upload_StreamKilledByClientSide_ItsBlocksGoBackToThePool(int maxReconnects)
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Local, "src.bin");
        var data = TcpTestEnv.WriteRandom(src, (24 * Bs) + 5, seed: 22);
        var server = await env.StartServerAsync();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var back = maxReconnects > 0 ? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : null;

        var result = await TcpTestEnv.Client(KillStreamOneOnce(killed, back), maxReconnects).SendAsync(src, server.Url("f.bin"), TcpTestEnv.Options(4), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Root, "f.bin")));
        Assert.Equal(1, result.Stats["streams_lost"]);
        Assert.Equal(1, result.Stats["blocks_requeued"]);
        Assert.Equal(maxReconnects > 0 ? 1 : 0, result.Stats["reconnects"]);
    }

    /// <summary>Holds every stream after <paramref name="free"/> items until the transfer is torn down.</summary>
    private static TcpTestHooks StallAfter(int free)
    {
        int sent = 0;
        return new TcpTestHooks
        {
            BeforeSendItem = async (stream, item, ct) =>
            {
                if (Interlocked.Increment(ref sent) > free)
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }

                return true;
            },
        };
    }

    [Fact]
    public async Task Upload_ServerStopsMidTransfer_ThenResumeSendsOnlyTheMissingBytes()
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Local, "src.bin");
        long size = (40 * Bs) + 321;
        var data = TcpTestEnv.WriteRandom(src, size, seed: 31);
        var server = await env.StartServerAsync();
        var progressed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = TcpTestEnv.Progress(p =>
        {
            if (p.BytesDone >= 6 * Bs)
            {
                progressed.TrySetResult();
            }
        });

        var first = TcpTestEnv.Client(StallAfter(10)).SendAsync(src, server.Url("big/f.bin"), TcpTestEnv.Options(3), progress, default);
        await progressed.Task.WaitAsync(TcpTestEnv.Bound);

        // The target is a stop within 2 s; the bound is generous (shared machine) and the time is printed.
        var stopTime = await server.StopAsync();
        output.WriteLine($"server stopped in {stopTime.TotalMilliseconds:F0} ms");
        Assert.True(stopTime < TimeSpan.FromSeconds(10), $"server took {stopTime} to stop");
        var failure = await Assert.ThrowsAsync<TransferException>(() => first.WaitAsync(TcpTestEnv.Bound));
        Assert.Equal(ExitCode.Timeout, failure.Code);
        Assert.False(File.Exists(Path.Combine(env.Root, "big", "f.bin")), "a half-written file appeared under its final name");

        var again = await env.StartServerAsync();
        var result = await TcpTestEnv.Client().SendAsync(src, again.Url("big/f.bin"), TcpTestEnv.Options(3), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Root, "big", "f.bin")));
        Assert.True(result.ResumedBytes >= 6 * Bs, $"resumed only {result.ResumedBytes} bytes");
        Assert.Equal(size - result.ResumedBytes, result.Stats["bytes_sent"]);
        Assert.Equal(size - result.ResumedBytes, again.Listener.Counters.DataBytesReceived);
        Assert.Empty(Directory.GetFiles(Path.Combine(env.Root, "big"), "*.ferry-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Download_ServerStopsMidTransfer_ThenResumeReceivesOnlyTheMissingBytes()
    {
        await using var env = new TcpTestEnv();
        long size = (40 * Bs) + 4321;
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), size, seed: 32);
        var server = await env.StartServerAsync(StallAfter(10));
        string dest = Path.Combine(env.Local, "f.bin");
        var progressed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = TcpTestEnv.Progress(p =>
        {
            if (p.BytesDone >= 6 * Bs)
            {
                progressed.TrySetResult();
            }
        });

        var first = TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(3), progress, default);
        await progressed.Task.WaitAsync(TcpTestEnv.Bound);

        // The target is a stop within 2 s; the bound is generous (shared machine) and the time is printed.
        var stopTime = await server.StopAsync();
        output.WriteLine($"server stopped in {stopTime.TotalMilliseconds:F0} ms");
        Assert.True(stopTime < TimeSpan.FromSeconds(10), $"server took {stopTime} to stop");
        var failure = await Assert.ThrowsAsync<TransferException>(() => first.WaitAsync(TcpTestEnv.Bound));
        Assert.Equal(ExitCode.Timeout, failure.Code);
        Assert.False(File.Exists(dest), "a half-written file appeared under its final name");
        Assert.NotEmpty(Directory.GetFiles(env.Local, "*.ferry-part"));

        var again = await env.StartServerAsync();
        var result = await TcpTestEnv.Client().GetAsync(again.Url("f.bin"), dest, TcpTestEnv.Options(3), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, await File.ReadAllBytesAsync(dest));
        Assert.True(result.ResumedBytes >= 6 * Bs, $"resumed only {result.ResumedBytes} bytes");
        Assert.Equal(size - result.ResumedBytes, result.Stats["bytes_received"]);
        Assert.Equal(size - result.ResumedBytes, again.Listener.Counters.DataBytesSent);
        Assert.Empty(Directory.GetFiles(env.Local, "*.ferry-*"));
    }

    [Fact]
    public async Task Download_CorruptedInFlight_IsAnIntegrityError_AndNothingIsKept()
    {
        await using var env = new TcpTestEnv();
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), (5 * Bs) + 3, seed: 41);
        var server = await env.StartServerAsync(new TcpTestHooks { AfterRead = FlipByteAt(3 * Bs) });
        string dest = Path.Combine(env.Local, "f.bin");

        var e = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(2), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));

        Assert.Equal(ExitCode.Integrity, e.Code);
        Assert.False(File.Exists(dest));
        Assert.Empty(Directory.GetFiles(env.Local));
    }

    [Fact]
    public async Task Upload_CorruptedInFlight_IsAnIntegrityError_AndNothingAppearsOnTheServer()
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Local, "src.bin");
        TcpTestEnv.WriteRandom(src, (5 * Bs) + 3, seed: 42);
        var server = await env.StartServerAsync();

        var e = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client(new TcpTestHooks { AfterRead = FlipByteAt(Bs + 17) })
            .SendAsync(src, server.Url("f.bin"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));

        Assert.Equal(ExitCode.Integrity, e.Code);
        Assert.False(File.Exists(Path.Combine(env.Root, "f.bin")));
    }

    [Fact]
    public async Task Upload_SourceShrinksMidTransfer_IsALocalIoError_AndNothingAppearsOnTheServer()
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Local, "src.bin");
        TcpTestEnv.WriteRandom(src, 6 * Bs, seed: 43);
        var server = await env.StartServerAsync();

        // No AfterRead hook: the client sends with sendfile, which must notice the file ended early.
        var e = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client(ShrinkBeforeItemAt(src, 3 * Bs, (2 * Bs) + 100))
            .SendAsync(src, server.Url("f.bin"), TcpTestEnv.Options(1), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));

        Assert.Equal(ExitCode.LocalIo, e.Code);
        Assert.Contains("shrank", e.Message);
        Assert.False(File.Exists(Path.Combine(env.Root, "f.bin")));
    }

    [Fact]
    public async Task Download_SourceShrinksMidTransfer_IsReportedByTheServer_AndNothingIsKept()
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Root, "f.bin");
        TcpTestEnv.WriteRandom(src, 6 * Bs, seed: 44);
        var server = await env.StartServerAsync(ShrinkBeforeItemAt(src, 3 * Bs, (2 * Bs) + 100));
        string dest = Path.Combine(env.Local, "f.bin");

        var e = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(1), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));

        Assert.Equal(ExitCode.Refused, e.Code); // an I/O error on the server, as over every scheme
        Assert.Contains("shrank", e.Message);
        Assert.False(File.Exists(dest));
    }

    /// <summary>Truncates <paramref name="path"/> to <paramref name="newLength"/> just before the item at <paramref name="offset"/> is sent.</summary>
    private static TcpTestHooks ShrinkBeforeItemAt(string path, long offset, long newLength) => new()
    {
        BeforeSendItem = (stream, item, ct) =>
        {
            if (item.Offset == offset)
            {
                using var f = File.Open(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                f.SetLength(newLength);
            }

            return ValueTask.FromResult(true);
        },
    };

    [Fact]
    public async Task ClientCancellation_KeepsThePartialDownload()
    {
        await using var env = new TcpTestEnv();
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 30 * Bs, seed: 51);
        var server = await env.StartServerAsync(StallAfter(8));
        string dest = Path.Combine(env.Local, "f.bin");
        using var cts = new CancellationTokenSource();
        var progress = TcpTestEnv.Progress(p =>
        {
            if (p.BytesDone >= 4 * Bs)
            {
                cts.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(2), progress, cts.Token).WaitAsync(TcpTestEnv.Bound));

        Assert.False(File.Exists(dest));
        Assert.NotEmpty(Directory.GetFiles(env.Local, "*.ferry-journal"));
    }

    private static TcpTestHooks.ChunkHook FlipByteAt(long target) => (offset, chunk) =>
    {
        if (target >= offset && target < offset + chunk.Length)
        {
            chunk[(int)(target - offset)] ^= 0x5A;
        }
    };
}
