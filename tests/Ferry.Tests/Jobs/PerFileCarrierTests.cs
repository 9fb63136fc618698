using Ferry.Jobs;
using Ferry.Protocol.Listing;
using Ferry.Tests.Files;
using Ferry.Transfers;

namespace Ferry.Tests.Jobs;

/// <summary>The per-file carrier and the runner over a client that records what it was asked and fails on demand.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PerFileCarrierTests
{
    private static readonly RemoteUrl s_server = TransferClients.ParseUrl("udp://127.0.0.1:9/");

    private sealed class ScriptedClient : ITransferClient
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inFlight;
        private int _calls;

        /// <summary>Sends wait until this many are in flight (0: none wait).</summary>
        public int GateAt { get; init; }

        /// <summary>Remote path -> what a send to it throws (null: it succeeds).</summary>
        public Dictionary<string, Exception> Failing { get; } = new(StringComparer.Ordinal);

        public List<string> Sent { get; } = new();

        /// <summary>Remote path -> how many sends to it are refused as busy before one is taken.</summary>
        public Dictionary<string, int> Busy { get; } = new(StringComparer.Ordinal);

        public List<string> Directories { get; } = new();

        public int MostInFlight { get; private set; }

        public bool CanMakeDirectories { get; init; } = true;

        public string Scheme => "udp";

        public Task<TransferResult> GetAsync(Uri remote, string localPath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
        {
            File.WriteAllText(localPath, TransferClients.RemotePath(remote));
            return Task.FromResult(new TransferResult(3, TimeSpan.Zero, "ab"));
        }

        public async Task<TransferResult> SendAsync(string localPath, Uri remote, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
        {
            string path = TransferClients.RemotePath(remote);
            int now = Interlocked.Increment(ref _inFlight);
            lock (Sent)
            {
                MostInFlight = Math.Max(MostInFlight, now);
            }

            try
            {
                // After the first file (which goes alone), every send waits until GateAt are in flight at once: a
                // carrier that ran fewer at a time would never open the gate.
                if (Interlocked.Increment(ref _calls) > 1 && GateAt > 0)
                {
                    if (now >= GateAt)
                    {
                        _gate.TrySetResult();
                    }

                    await _gate.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
                }

                await Task.Yield();
                if (Failing.TryGetValue(path, out var e))
                {
                    throw e;
                }

                lock (Busy)
                {
                    if (Busy.TryGetValue(path, out int times) && times > 0)
                    {
                        Busy[path] = times - 1;
                        throw Failures.FromServer(FailureKind.ServerBusy, "too many connections from this address; try again later");
                    }
                }

                progress.Report(new TransferProgress(1, 1));
                lock (Sent)
                {
                    Sent.Add(path);
                }

                return new TransferResult(1, TimeSpan.Zero, "cd");
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        public Task MakeDirectoryAsync(RemoteUrl remote, int mode, long mtimeUnixMs, ClientOptions options, CancellationToken cancellationToken)
        {
            if (!CanMakeDirectories)
            {
                throw new TransferException(ExitCode.Usage, "udp:// cannot create directories");
            }

            lock (Directories)
            {
                Directories.Add(remote.Path);
            }

            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<ListingEntry>> ListAsync(Uri remote, bool recursive, ClientOptions options, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }

    private sealed class Recorder : IJobReport
    {
        public List<string> Warnings { get; } = new();

        public List<JobFileEvent> Files { get; } = new();

        public JobSummary? Summary { get; private set; }

        public void Warning(string message)
        {
            lock (Warnings)
            {
                Warnings.Add(message);
            }
        }

        public void Start(int filesTotal, long bytesTotal)
        {
        }

        public void Progress(JobProgress progress) => Assert.True(progress.FilesDone <= progress.FilesTotal);

        public void File(JobFileEvent file)
        {
            lock (Files)
            {
                Files.Add(file);
            }
        }

        public void Done(JobSummary summary) => Summary = summary;
    }

    private static JobPlan Upload(int files, params string[] dirs)
    {
        var entries = Enumerable.Range(0, files)
            .Select(i => new JobEntry(0, JobEntryKind.File, $"/nowhere/f{i}", $"t/f{i}", 1, 0, 0x1A4))
            .Concat(dirs.Select(d => new JobEntry(0, JobEntryKind.Directory, "/nowhere/" + d, d, 0, 0, 0x1ED)));
        return new JobPlan(upload: true, JobPlan.Order(entries), [], [], []);
    }

    private static async Task<(ExitCode Code, Recorder Report)> Run(ScriptedClient client, JobPlan plan, int parallel = 4)
    {
        var report = new Recorder();
        JobRunner? runner = null;
        var carrier = new PerFileCarrier(client, m => runner!.Warning(m), parallel);
        runner = new JobRunner(plan, report);
        var code = await runner.RunAsync(carrier, s_server, new ClientOptions(), CancellationToken.None);
        return (code, report);
    }

    [Fact]
    public async Task Files_go_a_few_at_a_time_then_directories_deepest_first()
    {
        var client = new ScriptedClient { GateAt = 4 };
        var (code, report) = await Run(client, Upload(40, "t", "t/a", "t/a/b"), parallel: 4);

        Assert.Equal(ExitCode.Ok, code);
        Assert.Equal(40, client.Sent.Count);
        Assert.Equal(4, client.MostInFlight);
        Assert.Equal(["t/a/b", "t/a", "t"], client.Directories);
        Assert.Equal(40, report.Summary!.Done);
        Assert.Equal(40, report.Files.Count(f => f.Status == JobFileStatus.Done));
    }

    [Fact]
    public async Task A_file_that_fails_alone_is_reported_and_the_others_go_on_with_exit_8()
    {
        var client = new ScriptedClient();
        client.Failing["t/f0"] = new TransferException(ExitCode.LocalIo, "'/nowhere/f0': vanished");
        client.Failing["t/f7"] = Failures.FromServer(FailureKind.Unauthorized, "the token is limited to 'pub/'");
        var (code, report) = await Run(client, Upload(20));

        Assert.Equal(ExitCode.Partial, code);
        Assert.Equal(18, client.Sent.Count);
        Assert.Equal(["t/f0", "t/f7"], report.Files.Where(f => f.Status == JobFileStatus.Failed).Select(f => f.Path).Order());
        Assert.Equal((18, 2), (report.Summary!.Done, report.Summary.Failed));
    }

    [Fact]
    public async Task A_file_the_server_refuses_as_busy_is_sent_again_once_it_has_room()
    {
        var client = new ScriptedClient();
        client.Busy["t/f0"] = 2;
        client.Busy["t/f5"] = 3;
        var (code, report) = await Run(client, Upload(8));

        Assert.Equal(ExitCode.Ok, code);
        Assert.Equal(8, client.Sent.Count);
        Assert.Equal(0, report.Summary!.Failed);
        Assert.All(client.Busy.Values, left => Assert.Equal(0, left));
    }

    [Fact]
    public async Task A_failure_of_the_session_stops_the_job()
    {
        var client = new ScriptedClient();
        client.Failing["t/f0"] = new TransferException(ExitCode.Timeout, "no answer from 127.0.0.1:9");
        var e = await Assert.ThrowsAsync<TransferException>(() => Run(client, Upload(20)));

        Assert.Equal(ExitCode.Timeout, e.Code);
        Assert.Empty(client.Sent); // the first file goes alone: nothing else started
    }

    [Fact]
    public async Task A_scheme_that_cannot_create_directories_skips_only_the_empty_ones_with_a_warning()
    {
        var client = new ScriptedClient { CanMakeDirectories = false };
        var (code, report) = await Run(client, Upload(2, "t", "t/empty"));

        Assert.Equal(ExitCode.Ok, code);
        Assert.Equal("udp:// cannot create directories: empty directory 't/empty' skipped", Assert.Single(report.Warnings));
        Assert.Equal(1, report.Summary!.Warnings);
    }

    [Fact]
    public async Task A_download_creates_directories_first_and_gives_files_and_directories_their_time_and_mode_last()
    {
        using var dir = new TempDir();
        long when = new DateTimeOffset(2019, 9, 9, 9, 9, 9, 999, TimeSpan.Zero).ToUnixTimeMilliseconds();
        string top = dir.Combine("copy");
        var entries = JobPlan.Order(
        [
            new JobEntry(0, JobEntryKind.Directory, top, "src", 0, when, 0x1C0),
            new JobEntry(0, JobEntryKind.Directory, Path.Combine(top, "sub"), "src/sub", 0, when + 1, 0x1ED),
            new JobEntry(0, JobEntryKind.File, Path.Combine(top, "sub", "f"), "src/sub/f", 3, when + 2, 0x100),
        ]);
        var (code, _) = await Run(new ScriptedClient(), new JobPlan(upload: false, entries, [], [], []));

        Assert.Equal(ExitCode.Ok, code);
        Assert.Equal("src/sub/f", File.ReadAllText(Path.Combine(top, "sub", "f")));
        Assert.Equal((UnixFileMode)0x100, File.GetUnixFileMode(Path.Combine(top, "sub", "f")));
        Assert.Equal(when + 2, new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(top, "sub", "f"))).ToUnixTimeMilliseconds());
        Assert.Equal(when + 1, new DateTimeOffset(Directory.GetLastWriteTimeUtc(Path.Combine(top, "sub"))).ToUnixTimeMilliseconds());
        Assert.Equal(when, new DateTimeOffset(Directory.GetLastWriteTimeUtc(top)).ToUnixTimeMilliseconds());
        Assert.Equal((UnixFileMode)0x1C0, File.GetUnixFileMode(top));
    }
}
