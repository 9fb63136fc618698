using Ferry.Jobs;
using Ferry.Protocol.Tcp;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Jobs;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Ferry.Udp;

namespace Ferry.Tests.Udp;

/// <summary>Jobs of many files in one udp:// connection, through the real listener and carrier on 127.0.0.1.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UdpJobTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task JobPut_Tree_IsByteIdentical_WithModesAndMtimes_InOneConnection()
    {
        await using var server = new UdpServerFixture();
        string src = server.Local("src");
        var tree = JobTestTree.Make(src, smallFiles: 2000, blockSize: 64 * 1024);
        var entries = JobTestTree.Plan(src, "up", tree);
        var observer = new JobTestObserver();

        await new UdpJobCarrier().UploadAsync(Url(server), entries, new ClientOptions(), observer, default).WaitAsync(s_bound);

        Assert.Empty(observer.Failed);
        Assert.Equal(entries.Count, observer.Done.Count);
        JobTestTree.AssertSame(src, Path.Combine(server.Root, "up"), tree);
        Assert.Single(server.Log.ToString().Split('\n'), l => l.Contains("job of", StringComparison.Ordinal)); // one connection for the whole tree
        Assert.Empty(Directory.GetFiles(server.Root, "*.ferry-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task JobGet_Tree_IsByteIdentical_WithModesAndMtimes()
    {
        await using var server = new UdpServerFixture();
        string served = Path.Combine(server.Root, "tree");
        var tree = JobTestTree.Make(served, smallFiles: 2000, blockSize: 64 * 1024);
        string dest = server.Local("copy");
        var entries = JobTestTree.Plan(dest, "tree", tree);
        var observer = new JobTestObserver();

        await new UdpJobCarrier().DownloadAsync(Url(server), entries, new ClientOptions(), observer, default).WaitAsync(s_bound);

        Assert.Empty(observer.Failed);
        Assert.Equal(entries.Count, observer.Done.Count);
        JobTestTree.AssertSame(served, dest, tree);
        Assert.Empty(Directory.GetFiles(dest, "*.ferry-*", SearchOption.AllDirectories));
        Assert.Contains("entries delivered", server.Log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JobPut_EntryOutsideTheTokensPrefix_FailsAlone_AsUnauthorized()
    {
        await using var server = new UdpServerFixture(requireToken: true);
        string token = server.Tokens.Create("w", read: false, write: true, "ok", DateTimeOffset.UtcNow, null);
        string src = server.Local("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "a.txt"), "a");
        File.WriteAllText(Path.Combine(src, "b.txt"), "b");
        var entries = new List<JobEntry>
        {
            new(0, JobEntryKind.File, Path.Combine(src, "a.txt"), "ok/a.txt", 1, 1_600_000_000_000, 0x1A4),
            new(1, JobEntryKind.File, Path.Combine(src, "b.txt"), "other/b.txt", 1, 1_600_000_000_000, 0x1A4),
        };
        var observer = new JobTestObserver();

        await new UdpJobCarrier().UploadAsync(Url(server), entries, new ClientOptions { Token = token }, observer, default).WaitAsync(s_bound);

        Assert.True(observer.Done.ContainsKey(0));
        Assert.Equal(FailureKind.Unauthorized, Assert.Single(observer.Failed).Value.Kind);
        Assert.Equal("a", File.ReadAllText(Path.Combine(server.Root, "ok", "a.txt")));
        Assert.False(Directory.Exists(Path.Combine(server.Root, "other")));
    }

    [Fact]
    public async Task JobPut_UnreadableFile_IsAborted_OthersDone()
    {
        await using var server = new UdpServerFixture();
        string src = server.Local("src");
        Directory.CreateDirectory(src);
        var entries = new List<JobEntry>();
        for (int i = 0; i < 5; i++)
        {
            string p = Path.Combine(src, $"f{i}");
            File.WriteAllBytes(p, new byte[1000 + i]);
            entries.Add(new JobEntry(i, JobEntryKind.File, p, $"up/f{i}", 1000 + i, 1_600_000_000_000, 0x1A4));
        }

        // Entry 2 vanished after the plan was made: the client cannot read it.
        File.Delete(entries[2].LocalPath);
        var observer = new JobTestObserver();

        await new UdpJobCarrier().UploadAsync(Url(server), entries, new ClientOptions(), observer, default).WaitAsync(s_bound);

        Assert.Equal(4, observer.Done.Count);
        Assert.Equal(2, Assert.Single(observer.Failed).Key);
        Assert.False(File.Exists(Path.Combine(server.Root, "up", "f2")));
        Assert.True(File.Exists(Path.Combine(server.Root, "up", "f4")));
        Assert.Empty(Directory.GetFiles(Path.Combine(server.Root, "up"), "*.ferry-part"));
    }

    [Fact]
    public async Task JobGet_FileTheServerCannotRead_IsAborted_OthersDone()
    {
        await using var server = new UdpServerFixture();
        var entries = new List<JobEntry>();
        for (int i = 0; i < 4; i++)
        {
            string served = Path.Combine(server.Root, "s", $"f{i}");
            Directory.CreateDirectory(Path.GetDirectoryName(served)!);
            File.WriteAllBytes(served, new byte[5000 + i]);
            entries.Add(new JobEntry(i, JobEntryKind.File, server.Local($"f{i}"), $"s/f{i}", 5000 + i, 0, 0x1A4));
        }

        // Entry 1 shrinks between its STATUS (its size) and the data: the server aborts it (FILE_ABORT).
        server.Listener.AfterJobJudged = () => File.WriteAllBytes(Path.Combine(server.Root, "s", "f1"), new byte[10]);
        var observer = new JobTestObserver();

        await new UdpJobCarrier().DownloadAsync(Url(server), entries, new ClientOptions(), observer, default).WaitAsync(s_bound);

        Assert.Equal(1, Assert.Single(observer.Failed).Key);
        Assert.Contains("the server could not read it", observer.Failed[1].Message, StringComparison.Ordinal);
        Assert.Equal(3, observer.Done.Count);
        Assert.False(File.Exists(server.Local("f1")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(server.Root, "s", "f3")), File.ReadAllBytes(server.Local("f3")));
    }

    [Fact]
    public async Task JobGet_ResumesFromTheJournalsLeftByAnInterruptedRun()
    {
        // A download interrupted mid-file leaves temp files and journals: the next run's HAVE lists them and only the
        // rest comes. The first run is cut by Ctrl+C once the client holds part of the job.
        await using var server = new UdpServerFixture();
        var sizes = new[] { 24 << 20, 24 << 20 };
        var entries = new List<JobEntry>();
        for (int i = 0; i < sizes.Length; i++)
        {
            string served = Path.Combine(server.Root, "s", $"big{i}");
            Directory.CreateDirectory(Path.GetDirectoryName(served)!);
            var data = new byte[sizes[i]];
            new Random(i).NextBytes(data);
            File.WriteAllBytes(served, data);
            entries.Add(new JobEntry(i, JobEntryKind.File, server.Local($"big{i}"), $"s/big{i}", sizes[i], 0, 0x1A4));
        }

        using var cts = new CancellationTokenSource();
        var first = new CancellingObserver(() => cts.Cancel(), afterBytes: 1);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new UdpJobCarrier().DownloadAsync(Url(server), entries, new ClientOptions(), first, cts.Token).WaitAsync(s_bound));

        var observer = new JobTestObserver();
        var rest = entries.Where(e => !File.Exists(e.LocalPath)).Select((e, i) => e with { Index = i }).ToList();
        var said = new List<string>();
        await new UdpJobCarrier().DownloadAsync(Url(server), rest, new ClientOptions { Verbose = s => { lock (said) { said.Add(s); } } }, observer, default).WaitAsync(s_bound);

        Assert.Empty(observer.Failed);
        foreach (var e in entries)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(server.Root, e.RemotePath)), File.ReadAllBytes(e.LocalPath));
        }

        // What the second run received is what was missing (plus at most 1% and a few packets sent twice).
        long resumed = observer.Done.Values.Sum(r => r.ResumedBytes);
        Assert.True(resumed > 0, "the second run resumed nothing");
        long missing = rest.Sum(e => e.Size) - resumed;
        var job = System.Text.RegularExpressions.Regex.Match(string.Join('\n', said), @"job: (\d+) bytes in the job, (\d+) already at the receiver, \d+ data bytes sent \(\d+ again\), (\d+) received");
        Assert.True(job.Success, string.Join('\n', said));
        Assert.Equal(resumed, long.Parse(job.Groups[2].Value));
        long received = long.Parse(job.Groups[3].Value);
        Assert.True(received <= missing + (missing / 100) + (64 << 10), $"received {received} bytes; {missing} were missing");
    }

    [Fact]
    public async Task Job_ServerOlderThanJobs_ThrowsCarrierUnsupported_AndTheFallbackMovesTheFilesOneByOne()
    {
        await using var server = new UdpServerFixture();
        server.Listener.RefuseJobsAsOlderServer = true;
        string src = server.Local("a");
        File.WriteAllText(src, "a");
        var entries = new List<JobEntry> { new(0, JobEntryKind.File, src, "a", 1, 0, 0x1A4) };

        var e = await Assert.ThrowsAsync<TransferException>(() => new UdpJobCarrier().UploadAsync(Url(server), entries, new ClientOptions(), new JobTestObserver(), default).WaitAsync(s_bound));
        Assert.True(e.CarrierUnsupported, e.Message);
        Assert.False(File.Exists(Path.Combine(server.Root, "a")));

        var warnings = new List<string>();
        var observer = new JobTestObserver();
        await JobCarriers.For(new UdpTransferClient(), warnings.Add, 2).UploadAsync(Url(server), entries, new ClientOptions(), observer, default).WaitAsync(s_bound);
        Assert.Single(observer.Done);
        Assert.Equal("a", File.ReadAllText(Path.Combine(server.Root, "a")));
        Assert.Contains(warnings, w => w.Contains("one transfer per file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Jobs_from_one_address_past_the_limit_are_refused_as_busy()
    {
        await using var server = new UdpServerFixture();
        File.WriteAllText(Path.Combine(server.Root, "held.bin"), "held");
        using var stop = new CancellationTokenSource();
        var holders = new List<Task>();
        var accepted = new List<HoldingDriver>();
        for (int i = 0; i < UdpServerListener.MaxJobsPerAddress; i++)
        {
            var driver = new HoldingDriver([new TcpJobEntry(TcpJobEntry.FileType, 0x1A4, 4, 0, "held.bin")]);
            accepted.Add(driver);
            holders.Add(UdpTransferClient.RunJobAsync(Url(server), TimeProvider.System, TransferOp.JobGet, 1, new ClientOptions(), driver, stop.Token));
        }

        // Each holder got its ACCEPT and then goes silent (no HAVE): the server holds its job.
        foreach (var d in accepted)
        {
            await d.Accepted.Task.WaitAsync(s_bound);
        }

        var extra = new HoldingDriver([new TcpJobEntry(TcpJobEntry.FileType, 0x1A4, 4, 0, "held.bin")]);
        await UdpTransferClient.RunJobAsync(Url(server), TimeProvider.System, TransferOp.JobGet, 1, new ClientOptions(), extra, default).WaitAsync(s_bound);
        Assert.Equal(TransferError.ServerBusy, extra.ClosedWith?.Code);
        Assert.Contains("too many jobs", extra.ClosedWith?.Message, StringComparison.Ordinal);

        await stop.CancelAsync();
        foreach (var h in holders)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.WaitAsync(s_bound));
        }
    }

    [Fact]
    public async Task A_manifest_with_more_entries_than_the_request_announced_is_a_protocol_violation()
    {
        await using var server = new UdpServerFixture();
        var driver = new HoldingDriver([new TcpJobEntry(TcpJobEntry.FileType, 0x1A4, 1, 0, "a"), new TcpJobEntry(TcpJobEntry.FileType, 0x1A4, 1, 0, "b")]);

        await UdpTransferClient.RunJobAsync(Url(server), TimeProvider.System, TransferOp.JobPut, 1, new ClientOptions(), driver, default).WaitAsync(s_bound);

        Assert.Equal(TransferError.ProtocolViolation, driver.ClosedWith?.Code);
        Assert.Contains("ENTRIES", driver.ClosedWith?.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(server.Root));
    }

    private static RemoteUrl Url(UdpServerFixture server) => TransferClients.ParseUrl($"udp://127.0.0.1:{server.EndPoint.Port}/");

    /// <summary>Sends a manifest and then nothing: the job holds its place on the server until the connection ends.</summary>
    private sealed class HoldingDriver(List<TcpJobEntry> manifest) : IUdpJobDriver
    {
        public TaskCompletionSource Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConnectionEvent? ClosedWith { get; private set; }

        public bool Succeeded => false;

        public void Start(Connection connection)
        {
            int next = 0;
            connection.WriteStream(TcpJobFrames.WriteEntries(manifest, ref next));
        }

        public bool OnEvent(Connection connection, ConnectionEvent ev, long now)
        {
            if (ev.Kind == ConnectionEventKind.Accepted)
            {
                Accepted.TrySetResult();
            }

            if (ev.Kind == ConnectionEventKind.Closed)
            {
                ClosedWith = ev;
                return true;
            }

            return false;
        }

        public void Pump(Connection connection, long now)
        {
        }
    }

    /// <summary>Cancels the run once entries report <c>afterBytes</c> bytes in all.</summary>
    private sealed class CancellingObserver(Action cancel, long afterBytes) : IJobObserver
    {
        private long _max;

        public void EntryProgress(int index, long bytesDone, long resumedBytes)
        {
            if (Interlocked.Exchange(ref _max, Math.Max(_max, bytesDone)) < afterBytes && bytesDone >= afterBytes)
            {
                cancel();
            }
        }

        public void EntryDone(int index, TransferResult result)
        {
        }

        public void EntryFailed(int index, FailureKind kind, string message)
        {
        }
    }
}
