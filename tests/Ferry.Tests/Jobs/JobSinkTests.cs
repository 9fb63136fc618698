using System.Collections.Concurrent;
using System.Security.Cryptography;
using Ferry.Files;
using Ferry.Jobs;
using Ferry.Protocol.Common;
using Ferry.Protocol.Jobs;
using Ferry.Transfers;

namespace Ferry.Tests.Jobs;

/// <summary>The receiving end of a job: per-file commits, the bound on open files, aborts, 0-byte and resumed files.</summary>
public sealed class JobSinkTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ferry-jobsink-" + Guid.NewGuid().ToString("N")[..12]);

    public JobSinkTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task AllResolved_WaitsForAnOutcomeStillBeingReported_WhenTheLastFileResolvesMeanwhile()
    {
        var layout = new JobLayout([10, 10]);
        using var inFirstReport = new ManualResetEventSlim();
        using var secondResolved = new ManualResetEventSlim();
        bool? completedDuringFirstReport = null;
        JobSink? sink = null;
        sink = new JobSink(layout, [0, 1], new RangeSet(), _ => throw new InvalidOperationException("nothing is opened"), o =>
        {
            if (o.Index == 0)
            {
                inFirstReport.Set();
                Assert.True(secondResolved.Wait(TimeSpan.FromSeconds(30)));
                completedDuringFirstReport = sink!.AllResolved.IsCompleted;
            }
        });
        using (sink)
        {
            var first = Task.Run(() => sink.Abort(0, FailureKind.Io, "vanished"));
            Assert.True(inFirstReport.Wait(TimeSpan.FromSeconds(30)));
            sink.Abort(1, FailureKind.Io, "vanished");
            secondResolved.Set();
            await first;

            // The receiver sends its last message once AllResolved completes: file 0's outcome must be out by then.
            Assert.False(completedDuringFirstReport);
            await sink.AllResolved.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task ManyFiles_ThroughTwoSlots_AllCommit_NeverMoreThanTwoOpen()
    {
        long[] sizes = [100, 0, 250, 1, 100, 100, 0, 300, 100, 100];
        var layout = new JobLayout(sizes);
        var data = new byte[layout.TotalSize];
        new Random(5).NextBytes(data);
        int open = 0, maxOpen = 0;
        var outcomes = new ConcurrentDictionary<int, JobFileOutcome>();
        using var sink = new JobSink(layout, Enumerable.Range(0, sizes.Length), new RangeSet(), i =>
        {
            int now = Interlocked.Increment(ref open);
            InterlockedMax(ref maxOpen, now);
            var file = PartialFile.ForDownload(Path.Combine(_dir, $"f{i}"), sizes[i], new FileIdentity(sizes[i], 1), overwrite: false);
            return new JobSinkFile(file, new Closer(file, () => Interlocked.Decrement(ref open)));
        }, o => Assert.True(outcomes.TryAdd(o.Index, o)), maxOpenFiles: 2);

        // The streams write the whole job in pieces that cross file boundaries while the hashes come in index order.
        var writer = Task.Run(() =>
        {
            for (int at = 0; at < data.Length; at += 70)
            {
                int n = Math.Min(70, data.Length - at);
                sink.Write(at, data.AsSpan(at, n));
            }
        });
        var hasher = Task.Run(() =>
        {
            for (int i = 0; i < sizes.Length; i++)
            {
                sink.SetHash(i, SHA256.HashData(data.AsSpan((int)layout.Start(i), (int)sizes[i])));
            }
        });
        await Task.WhenAll(writer, hasher).WaitAsync(TimeSpan.FromSeconds(30));
        await sink.AllResolved.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(sizes.Length, outcomes.Count);
        Assert.All(outcomes.Values, o => Assert.Null(o.Failure));
        Assert.InRange(maxOpen, 1, 4); // two slots, plus the two 0-byte files, opened and committed outside the bound
        for (int i = 0; i < sizes.Length; i++)
        {
            Assert.Equal(data.AsSpan((int)layout.Start(i), (int)sizes[i]).ToArray(), File.ReadAllBytes(Path.Combine(_dir, $"f{i}")));
        }
    }

    [Fact]
    public async Task AllResolved_WaitsUntilEveryReportReturned()
    {
        // File 0's report is still running on another thread when file 1, the last, resolves: a carrier that sends
        // DONE on AllResolved would send it before file 0's result.
        var layout = new JobLayout([10, 10]);
        using var gate = new ManualResetEventSlim();
        using var inReport = new ManualResetEventSlim();
        using var sink = new JobSink(layout, [0, 1], new RangeSet(), _ => throw new InvalidOperationException("nothing is written"), o =>
        {
            if (o.Index == 0)
            {
                inReport.Set();
                gate.Wait(TimeSpan.FromSeconds(30));
            }
        });
        var first = Task.Run(() => sink.Abort(0, FailureKind.Io, "gone"));
        Assert.True(inReport.Wait(TimeSpan.FromSeconds(30)));

        sink.Abort(1, FailureKind.Io, "gone too");

        Assert.False(sink.AllResolved.IsCompleted);
        gate.Set();
        await first.WaitAsync(TimeSpan.FromSeconds(30));
        await sink.AllResolved.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Abort_DiscardsTheFile_WrongHash_FailsIt_OthersCommit()
    {
        long[] sizes = [10, 10, 10];
        var layout = new JobLayout(sizes);
        var data = new byte[30];
        new Random(6).NextBytes(data);
        var outcomes = new ConcurrentDictionary<int, JobFileOutcome>();
        using var sink = new JobSink(layout, [0, 1, 2], new RangeSet(), i =>
        {
            var file = PartialFile.ForDownload(Path.Combine(_dir, $"g{i}"), 10, new FileIdentity(10, 1), overwrite: false);
            return new JobSinkFile(file, file);
        }, o => outcomes[o.Index] = o);

        sink.Write(0, data);
        sink.Abort(1, FailureKind.Io, "vanished");
        sink.SetHash(0, SHA256.HashData(data.AsSpan(0, 10)));
        sink.SetHash(1, SHA256.HashData(data.AsSpan(10, 10)));   // after the abort: ignored
        sink.SetHash(2, new byte[32]);

        await sink.AllResolved.WaitAsync(TimeSpan.FromSeconds(30)); // commits complete in the background
        Assert.Null(outcomes[0].Failure);
        Assert.Equal(FailureKind.Io, outcomes[1].Failure);
        Assert.Equal(FailureKind.Integrity, outcomes[2].Failure);
        Assert.True(File.Exists(Path.Combine(_dir, "g0")));
        Assert.False(File.Exists(Path.Combine(_dir, "g1")));
        Assert.False(File.Exists(Path.Combine(_dir, "g2")));
        Assert.Empty(Directory.GetFiles(_dir, "*.ferry-part"));
    }

    [Fact]
    public async Task FileAllPresentBeforeTheRun_CommitsWhenItsHashArrives()
    {
        long[] sizes = [5, 8];
        var layout = new JobLayout(sizes);
        var data = "hello12345678"u8.ToArray();
        var identity = new FileIdentity(8, 1);

        // An earlier run received all of file 1 and stopped before its hash.
        using (var earlier = PartialFile.ForDownload(Path.Combine(_dir, "h1"), 8, identity, overwrite: false))
        {
            earlier.Write(0, data.AsSpan(5));
        }

        var present = new RangeSet();
        present.Add(5, 13);
        var outcomes = new ConcurrentDictionary<int, JobFileOutcome>();
        using var sink = new JobSink(layout, [0, 1], present, i =>
        {
            var file = PartialFile.ForDownload(Path.Combine(_dir, $"h{i}"), sizes[i], new FileIdentity(sizes[i], 1), overwrite: false);
            return new JobSinkFile(file, file);
        }, o => outcomes[o.Index] = o);

        Assert.False(sink.DataComplete);
        sink.SetHash(1, SHA256.HashData(data.AsSpan(5)));
        await WaitForAsync(() => outcomes.ContainsKey(1)); // committed in the background, with nothing more written
        Assert.Null(outcomes[1].Failure);
        Assert.Equal(data.AsSpan(5).ToArray(), File.ReadAllBytes(Path.Combine(_dir, "h1")));

        sink.Write(0, data.AsSpan(0, 5));
        Assert.True(sink.DataComplete);
        sink.SetHash(0, SHA256.HashData(data.AsSpan(0, 5)));
        await sink.AllResolved.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task FileMaybeHeldAlready_TakesNoSlot_DropsItsBytes_AndResolvesByTheCheck_InEitherOrder()
    {
        long[] sizes = [10, 10, 10];
        var layout = new JobLayout(sizes);
        var data = new byte[30];
        new Random(8).NextBytes(data);
        var outcomes = new ConcurrentDictionary<int, JobFileOutcome>();
        var checkedHashes = new ConcurrentDictionary<int, byte[]>();
        using var sink = new JobSink(
            layout, [0, 1, 2], new RangeSet(),
            i => i == 2 && PartialFile.ForDownload(Path.Combine(_dir, "k2"), 10, new FileIdentity(10, 1), overwrite: false) is var f ? new JobSinkFile(f, f) : null,
            o => Assert.True(outcomes.TryAdd(o.Index, o)),
            maxOpenFiles: 1,
            checkHeld: (i, hash) =>
            {
                checkedHashes[i] = hash;
                return i == 0 ? null : new FileEngineException(FileErrorCode.AlreadyExists, "other content");
            });

        // File 0: bytes first, then its hash. File 1: hash first, then bytes. Neither holds the only slot: file 2 opens.
        sink.Write(0, data.AsSpan(0, 10));
        sink.SetHash(1, SHA256.HashData(data.AsSpan(10, 10)));
        Assert.False(outcomes.ContainsKey(1)); // no byte of it has arrived: it is not known to be held yet
        sink.Write(10, data.AsSpan(10, 20));
        sink.SetHash(0, SHA256.HashData(data.AsSpan(0, 10)));
        sink.SetHash(2, SHA256.HashData(data.AsSpan(20, 10)));

        await sink.AllResolved.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(outcomes[0].Failure);
        Assert.Equal(FailureKind.AlreadyExists, outcomes[1].Failure);
        Assert.Null(outcomes[2].Failure);
        Assert.Equal(SHA256.HashData(data.AsSpan(0, 10)), checkedHashes[0]);
        Assert.Equal(data.AsSpan(20, 10).ToArray(), File.ReadAllBytes(Path.Combine(_dir, "k2")));
        Assert.False(File.Exists(Path.Combine(_dir, "k0")));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(5, cts.Token);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private sealed class Closer(PartialFile file, Action closed) : IDisposable
    {
        public void Dispose()
        {
            file.Dispose();
            closed();
        }
    }
}
