using System.Collections.Concurrent;
using Ferry.Jobs;
using Ferry.Protocol.Tcp;
using Ferry.Security;
using Ferry.Tcp;
using Ferry.Tests.Jobs;
using Ferry.Transfers;

namespace Ferry.Tests.Tcp;

/// <summary>Jobs of many files in one tcp:// session, through the real listener and carrier on 127.0.0.1.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TcpJobTests
{
    [Fact]
    public async Task JobPut_Tree_IsByteIdentical_WithModesAndMtimes_InOneSession()
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Local, "src");
        var tree = JobTestTree.Make(src, smallFiles: 2000, TcpTestEnv.BlockSize);
        var server = await env.StartServerAsync();
        var entries = JobTestTree.Plan(src, "up", tree);
        var observer = new JobTestObserver();

        await Carrier().UploadAsync(Url(server), entries, TcpTestEnv.Options(4), observer, default).WaitAsync(TcpTestEnv.Bound);

        Assert.Empty(observer.Failed);
        Assert.Equal(entries.Count, observer.Done.Count);
        JobTestTree.AssertSame(src, Path.Combine(env.Root, "up"), tree);
        Assert.Single(server.Log.Split('\n'), l => l.Contains("job of", StringComparison.Ordinal)); // one session for the whole tree
        Assert.Empty(Directory.GetFiles(env.Root, "*.ferry-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task JobGet_Tree_IsByteIdentical_WithModesAndMtimes()
    {
        await using var env = new TcpTestEnv();
        string served = Path.Combine(env.Root, "tree");
        var tree = JobTestTree.Make(served, smallFiles: 2000, TcpTestEnv.BlockSize);
        var server = await env.StartServerAsync();
        string dest = Path.Combine(env.Local, "copy");
        var entries = JobTestTree.Plan(dest, "tree", tree);
        var observer = new JobTestObserver();

        try
        {
            await Carrier().DownloadAsync(Url(server), entries, TcpTestEnv.Options(4), observer, default).WaitAsync(TcpTestEnv.Bound);
        }
        catch (TransferException e)
        {
            Assert.Fail($"{e.Message}\nserver log:\n{string.Join('\n', server.Log.Split('\n').TakeLast(30))}");
        }

        Assert.Empty(observer.Failed);
        Assert.Equal(entries.Count, observer.Done.Count);
        JobTestTree.AssertSame(served, dest, tree);
        Assert.Empty(Directory.GetFiles(dest, "*.ferry-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task JobPut_EntryOutsideTheTokensPrefix_FailsAlone_AsUnauthorized()
    {
        await using var env = new TcpTestEnv();
        var tokens = new TokenStore(Path.Combine(env.Dir, "tokens"));
        string token = tokens.Create("w", read: false, write: true, "ok", DateTimeOffset.UtcNow, null);
        var server = await env.StartServerAsync(access: new AccessPolicy(tokens, requireToken: true));
        string src = Path.Combine(env.Local, "src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "a.txt"), "a");
        File.WriteAllText(Path.Combine(src, "b.txt"), "b");
        var entries = new List<JobEntry>
        {
            new(0, JobEntryKind.File, Path.Combine(src, "a.txt"), "ok/a.txt", 1, 1_600_000_000_000, 0x1A4),
            new(1, JobEntryKind.File, Path.Combine(src, "b.txt"), "other/b.txt", 1, 1_600_000_000_000, 0x1A4),
        };
        var observer = new JobTestObserver();
        var options = TcpTestEnv.Options(2);
        options.Token = token;

        await Carrier().UploadAsync(Url(server), entries, options, observer, default).WaitAsync(TcpTestEnv.Bound);

        Assert.True(observer.Done.ContainsKey(0));
        Assert.Equal(FailureKind.Unauthorized, Assert.Single(observer.Failed).Value.Kind);
        Assert.True(observer.Failed.ContainsKey(1));
        Assert.Equal("a", File.ReadAllText(Path.Combine(env.Root, "ok", "a.txt")));
        Assert.False(Directory.Exists(Path.Combine(env.Root, "other")));
    }

    [Fact]
    public async Task JobPut_FileAlreadyCommittedThere_IsDoneWhenItsContentMatches_AndRefusedWhenNot()
    {
        // An earlier run can commit a file after this run's planner looked (the server finishes what a killed client
        // sent): the server then holds the very file this run sends. Without --allow-overwrite it checks, not refuses.
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        string src = Path.Combine(env.Local, "src");
        Directory.CreateDirectory(src);
        const long mtime = 1_600_000_000_000;
        var entries = new List<JobEntry>();
        string[] names = ["same", "other-content", "other-mtime", "new"];
        for (int i = 0; i < names.Length; i++)
        {
            string p = Path.Combine(src, names[i]);
            TcpTestEnv.WriteRandom(p, 3000, seed: 70 + i);
            entries.Add(new JobEntry(i, JobEntryKind.File, p, $"up/{names[i]}", 3000, mtime, 0x1A4));
            if (names[i] == "new")
            {
                continue;
            }

            string there = Path.Combine(env.Root, "up", names[i]);
            Directory.CreateDirectory(Path.GetDirectoryName(there)!);
            File.Copy(p, there);
            if (names[i] == "other-content")
            {
                TcpTestEnv.WriteRandom(there, 3000, seed: 99);
            }

            File.SetLastWriteTimeUtc(there, DateTimeOffset.FromUnixTimeMilliseconds(names[i] == "other-mtime" ? mtime + 1000 : mtime).UtcDateTime);
        }

        string before = File.ReadAllText(Path.Combine(env.Root, "up", "other-content"));
        var observer = new JobTestObserver();

        await Carrier().UploadAsync(Url(server), entries, TcpTestEnv.Options(2), observer, default).WaitAsync(TcpTestEnv.Bound);

        Assert.True(observer.Done.ContainsKey(0), string.Join('\n', observer.Failed.Select(f => $"{f.Key}: {f.Value.Message}")));
        Assert.True(observer.Done.ContainsKey(3));
        Assert.Equal(FailureKind.AlreadyExists, observer.Failed[1].Kind);
        Assert.Contains("other content", observer.Failed[1].Message, StringComparison.Ordinal);
        Assert.Equal(FailureKind.AlreadyExists, observer.Failed[2].Kind);
        Assert.Equal(before, File.ReadAllText(Path.Combine(env.Root, "up", "other-content")));
        Assert.Equal(File.ReadAllBytes(entries[3].LocalPath), File.ReadAllBytes(Path.Combine(env.Root, "up", "new")));
        Assert.DoesNotContain(server.Log.Split('\n'), l => l.Contains("up/same", StringComparison.Ordinal) && l.Contains("refused", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(Path.Combine(env.Root, "up"), "*.ferry-part"));
    }

    [Fact]
    public async Task JobPut_UnreadableFile_IsAborted_OthersDone()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        string src = Path.Combine(env.Local, "src");
        Directory.CreateDirectory(src);
        var entries = new List<JobEntry>();
        for (int i = 0; i < 5; i++)
        {
            string p = Path.Combine(src, $"f{i}");
            TcpTestEnv.WriteRandom(p, 1000 + i, seed: i);
            entries.Add(new JobEntry(i, JobEntryKind.File, p, $"up/f{i}", 1000 + i, 1_600_000_000_000, 0x1A4));
        }

        // Entry 2 vanished after the plan was made: the client cannot read it.
        File.Delete(entries[2].LocalPath);
        var observer = new JobTestObserver();

        await Carrier().UploadAsync(Url(server), entries, TcpTestEnv.Options(2), observer, default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(4, observer.Done.Count);
        Assert.Equal(2, Assert.Single(observer.Failed).Key);
        Assert.False(File.Exists(Path.Combine(env.Root, "up", "f2")));
        Assert.True(File.Exists(Path.Combine(env.Root, "up", "f4")));
        Assert.Empty(Directory.GetFiles(Path.Combine(env.Root, "up"), "*.ferry-part"));
    }

    [Fact]
    public async Task JobPut_Interrupted_ThenRunAgain_SendsOnlyWhatWasMissing()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        string src = Path.Combine(env.Local, "src");
        Directory.CreateDirectory(src);
        const long size = 40L * TcpTestEnv.BlockSize;
        var entries = new List<JobEntry>();
        for (int i = 0; i < 4; i++)
        {
            string p = Path.Combine(src, $"big{i}");
            TcpTestEnv.WriteRandom(p, size, seed: 50 + i);
            entries.Add(new JobEntry(i, JobEntryKind.File, p, $"up/big{i}", size, 1_600_000_000_000 + i, 0x1A4));
        }

        // The first run stops (as Ctrl+C does) once about half of the job was sent.
        using var cts = new CancellationTokenSource();
        long items = 0;
        var hooks = new TcpTestHooks
        {
            BeforeSendItem = async (_, _, _) =>
            {
                if (Interlocked.Increment(ref items) < 60)
                {
                    return true;
                }

                // About 60 of 160 blocks are on their way: stop once the server has written most of them.
                while (server.Listener.Counters.DataBytesReceived < 50L * TcpTestEnv.BlockSize && !cts.IsCancellationRequested)
                {
                    await Task.Delay(5);
                }

                await cts.CancelAsync();
                return false;
            },
        };
        var first = new JobTestObserver();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Carrier(hooks).UploadAsync(Url(server), entries, TcpTestEnv.Options(2), first, cts.Token).WaitAsync(TcpTestEnv.Bound));
        await WaitForAsync(() => server.Listener.SessionCount == 0 && server.Listener.ConnectionCount == 0); // the session disposed: data kept for resume
        long firstRun = server.Listener.Counters.DataBytesReceived;
        Assert.InRange(firstRun, 1, (4 * size) - 1);

        // The re-run, as the job would plan it: the files the first run completed (at the server) are not handed over again.
        var rest = entries.Where(e => !File.Exists(Path.Combine(env.Root, e.RemotePath))).Select((e, i) => e with { Index = i }).ToList();
        Assert.NotEmpty(rest);
        var observer = new JobTestObserver();
        await Carrier().UploadAsync(Url(server), rest, TcpTestEnv.Options(2), observer, default).WaitAsync(TcpTestEnv.Bound);

        Assert.Empty(observer.Failed);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(File.ReadAllBytes(entries[i].LocalPath), File.ReadAllBytes(Path.Combine(env.Root, "up", $"big{i}")));
        }

        long secondRun = server.Listener.Counters.DataBytesReceived - firstRun;
        long missing = (4 * size) - firstRun;
        Assert.True(secondRun <= missing + (missing / 100) + (8L * TcpTestEnv.BlockSize), $"second run sent {secondRun} bytes; {missing} were missing after the first ({firstRun})");
        Assert.True(observer.Done.Values.Sum(r => r.ResumedBytes) > 0);
    }

    [Fact]
    public async Task JobGet_FileTheServerCannotRead_IsAborted_OthersDone()
    {
        await using var env = new TcpTestEnv();
        var entries = new List<JobEntry>();
        for (int i = 0; i < 4; i++)
        {
            TcpTestEnv.WriteRandom(Path.Combine(env.Root, "s", $"f{i}"), 5000 + i, seed: i);
            entries.Add(new JobEntry(i, JobEntryKind.File, Path.Combine(env.Local, $"f{i}"), $"s/f{i}", 5000 + i, 0, 0x1A4));
        }

        // Entry 1 shrinks between the STATUS (its size) and the data: the server aborts it.
        var hooks = new TcpTestHooks
        {
            BeforeSendItem = (_, _, _) =>
            {
                File.WriteAllBytes(Path.Combine(env.Root, "s", "f1"), new byte[10]);
                return ValueTask.FromResult(true);
            },
        };
        var server = await env.StartServerAsync(hooks: hooks);
        var observer = new JobTestObserver();

        await Carrier().DownloadAsync(Url(server), entries, TcpTestEnv.Options(1), observer, default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(1, Assert.Single(observer.Failed).Key);
        Assert.Equal(3, observer.Done.Count);
        Assert.False(File.Exists(Path.Combine(env.Local, "f1")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(env.Root, "s", "f3")), File.ReadAllBytes(Path.Combine(env.Local, "f3")));
    }

    [Fact]
    public async Task Job_ServerOlderThanJobs_ThrowsCarrierUnsupported()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync(hooks: new TcpTestHooks { RefuseJobs = true });
        string src = Path.Combine(env.Local, "a");
        File.WriteAllText(src, "a");
        var entries = new List<JobEntry> { new(0, JobEntryKind.File, src, "a", 1, 0, 0x1A4) };

        var e = await Assert.ThrowsAsync<TransferException>(() => Carrier().UploadAsync(Url(server), entries, TcpTestEnv.Options(1), new JobTestObserver(), default).WaitAsync(TcpTestEnv.Bound));

        Assert.True(e.CarrierUnsupported, e.Message);
        Assert.False(File.Exists(Path.Combine(env.Root, "a")));
    }

    [Fact]
    public async Task Job_OverLimitManifest_IsRefused()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        using var peer = await RawTcpPeer.ConnectAsync(server.Port);

        // OPEN announces one entry; the ENTRIES frame lists two: refused before anything is looked at.
        var open = new TcpOpenRequest(TcpOperation.JobPut, string.Empty, 1, 1, null);
        var frame = new byte[open.FrameLength];
        open.Write(frame);
        int next = 0;
        var entries = TcpJobFrames.WriteEntries([new TcpJobEntry(1, 0x1A4, 1, 0, "a"), new TcpJobEntry(1, 0x1A4, 1, 0, "b")], ref next);
        await peer.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Control), frame, entries);
        var reply = await peer.ReadUntilClosedAsync(TcpTestEnv.Bound);
        Assert.Equal((byte)TcpFrameType.Error, reply[0]);
        Assert.Equal(TcpErrorCode.BadFrame, (TcpErrorCode)System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(5)));

        // An OPEN of more than 1,000,000 entries is malformed.
        using var peer2 = await RawTcpPeer.ConnectAsync(server.Port);
        var tooMany = new TcpOpenRequest(TcpOperation.JobGet, string.Empty, 1, TcpWire.MaxJobEntries + 1L, null);
        frame = new byte[tooMany.FrameLength];
        tooMany.Write(frame);
        await peer2.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Control), frame);
        reply = await peer2.ReadUntilClosedAsync(TcpTestEnv.Bound);
        Assert.Equal((byte)TcpFrameType.Error, reply[0]);
        Assert.Empty(Directory.GetFileSystemEntries(env.Root));
    }

    [Fact]
    public async Task Jobs_from_one_address_past_the_limit_are_refused_as_busy()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync(maxJobsPerAddress: 1);

        // A job that sent its manifest, was answered (STATUS), and then goes silent holds the one slot.
        using var holder = await RawTcpPeer.ConnectAsync(server.Port);
        var open = new TcpOpenRequest(TcpOperation.JobPut, string.Empty, 1, 1, null);
        var frame = new byte[open.FrameLength];
        open.Write(frame);
        int next = 0;
        var entries = TcpJobFrames.WriteEntries([new TcpJobEntry(1, 0x1A4, 10, 0, "held.bin")], ref next);
        await holder.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Control), frame, entries);
        var (type, _) = await holder.ReadFrameAsync(TcpTestEnv.Bound);
        Assert.Equal(TcpFrameType.Status, type);

        // A second job from the same address is refused at once, and says why.
        using var second = await RawTcpPeer.ConnectAsync(server.Port);
        await second.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Control), frame, entries);
        var error = RawTcpPeer.ParseError(await second.ReadUntilClosedAsync(TcpTestEnv.Bound));
        Assert.NotNull(error);
        Assert.Equal(TcpErrorCode.ServerBusy, error.Value.Code);
        Assert.Contains("too many jobs", error.Value.Message, StringComparison.Ordinal);
    }

    private static TcpJobCarrier Carrier(TcpTestHooks? hooks = null) =>
        new(new TcpClientSettings { Hooks = hooks, ConnectTimeout = TimeSpan.FromSeconds(20) });

    private static RemoteUrl Url(TcpTestServer server) => TransferClients.ParseUrl($"tcp://127.0.0.1:{server.Port}/");

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(TcpTestEnv.Bound);
        while (!condition())
        {
            await Task.Delay(10, cts.Token);
        }
    }
}
