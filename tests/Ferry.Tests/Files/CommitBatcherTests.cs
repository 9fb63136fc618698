using System.Security.Cryptography;
using Ferry.Files;

namespace Ferry.Tests.Files;

/// <summary>Group commit: files committed together share syncs, yet each lands (or fails) alone and only once durable.</summary>
public class CommitBatcherTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void ConcurrentCommits_AllLandVerified()
    {
        using var fx = new EngineFixture();
        var batcher = new CommitBatcher();
        const int files = 48;
        var data = Enumerable.Range(0, files).Select(i => RandomBytes(i, 100 + (i * 997))).ToArray();
        var uploads = Enumerable.Range(0, files).Select(i => Begin(fx, batcher, Name(i), data[i])).ToArray();
        try
        {
            // Half block in Commit on their own threads, half go through CommitAsync: both kinds share batches.
            var threads = Enumerable.Range(0, files / 2).Select(i => StartCommit(uploads[i], data[i])).ToArray();

            var async = Enumerable.Range(files / 2, files / 2).Select(i => uploads[i].File.CommitAsync(SHA256.HashData(data[i]))).ToArray();
            foreach (var t in threads)
            {
                Assert.True(t.Join(s_patience));
            }

            Assert.True(Task.WaitAll(async, s_patience));
        }
        finally
        {
            DisposeAll(uploads);
        }

        for (int i = 0; i < files; i++)
        {
            Assert.True(uploads[i].File.IsCommitted);
            Assert.Equal(data[i], File.ReadAllBytes(fx.InRoot(Name(i))));
        }

        Assert.Empty(Directory.GetFiles(fx.Root, "*.ferry-part", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(Path.Combine(fx.StateDir, "journals")));
        Assert.InRange(batcher.Batches, 1, files);
    }

    [Fact]
    public void CommitterArrivingDuringABatch_LeadsTheNextOne_WithEveryoneQueuedMeanwhile()
    {
        using var fx = new EngineFixture();
        var batcher = new CommitBatcher();
        var sizes = new List<int>();
        using var inFirstBatch = new ManualResetEventSlim();
        using var releaseFirstBatch = new ManualResetEventSlim();
        batcher.BatchStarting = batch =>
        {
            sizes.Add(batch.Count);
            if (sizes.Count == 1)
            {
                inFirstBatch.Set();
                Assert.True(releaseFirstBatch.Wait(s_patience));
            }
        };

        var data = Enumerable.Range(0, 3).Select(i => RandomBytes(i, 5000)).ToArray();
        var uploads = Enumerable.Range(0, 3).Select(i => Begin(fx, batcher, Name(i), data[i])).ToArray();
        try
        {
            // Alone: no batch running, so the first committer leads one at once (it does not wait for company).
            var first = StartCommit(uploads[0], data[0]);
            Assert.True(inFirstBatch.Wait(s_patience));

            var second = StartCommit(uploads[1], data[1]);
            var third = StartCommit(uploads[2], data[2]);
            Assert.True(SpinWait.SpinUntil(() => batcher.Queued == 2, s_patience));
            Assert.False(File.Exists(fx.InRoot(Name(1))));

            releaseFirstBatch.Set();
            foreach (var t in new[] { first, second, third })
            {
                Assert.True(t.Join(s_patience));
            }
        }
        finally
        {
            DisposeAll(uploads);
        }

        Assert.Equal([1, 2], sizes);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(data[i], File.ReadAllBytes(fx.InRoot(Name(i))));
        }
    }

    [Fact]
    public void Batch_SyncsEveryFileBeforeAnyAppearsUnderItsFinalName()
    {
        using var fx = new EngineFixture();
        var batcher = new CommitBatcher();
        var data = Enumerable.Range(0, 4).Select(i => RandomBytes(i, 20_000)).ToArray();
        var uploads = Enumerable.Range(0, 4).Select(i => Begin(fx, batcher, $"d{i % 2}/f{i}.bin", data[i])).ToArray();
        var finals = uploads.Select(u => u.File.FinalPath).ToArray();
        int synced = 0;
        bool published = false;
        foreach (var up in uploads)
        {
            up.File.SyncSeam = _ =>
            {
                Assert.DoesNotContain(finals, File.Exists);
                Interlocked.Increment(ref synced);
                return 0;
            };
        }

        batcher.BatchStarting = batch => Assert.Equal(4, batch.Count);
        batcher.BeforePublish = _ =>
        {
            Assert.Equal(4, Volatile.Read(ref synced));
            Assert.DoesNotContain(finals, File.Exists);
            published = true;
        };

        try
        {
            var tasks = HoldBatcher(batcher, fx, () => Enumerable.Range(0, 4).Select(i => uploads[i].File.CommitAsync(SHA256.HashData(data[i]))).ToArray());
            Assert.True(Task.WaitAll(tasks, s_patience));
        }
        finally
        {
            DisposeAll(uploads);
        }

        Assert.True(published);
        Assert.All(finals, f => Assert.True(File.Exists(f)));
    }

    [Fact]
    public void RenameRefused_FailsThatFileAlone()
    {
        using var fx = new EngineFixture();
        var batcher = new CommitBatcher();
        var data = Enumerable.Range(0, 3).Select(i => RandomBytes(i, 9000)).ToArray();
        var uploads = Enumerable.Range(0, 3).Select(i => Begin(fx, batcher, Name(i), data[i])).ToArray();
        batcher.BatchStarting = batch => Assert.Equal(3, batch.Count);

        // Someone else creates the second file's name after its upload began: the no-replace rename must refuse it.
        batcher.BeforePublish = _ => File.WriteAllText(fx.InRoot(Name(1)), "theirs");
        Task[] tasks = [];
        try
        {
            tasks = HoldBatcher(batcher, fx, () => Enumerable.Range(0, 3).Select(i => uploads[i].File.CommitAsync(SHA256.HashData(data[i]))).ToArray());
            Assert.Throws<AggregateException>(() => Task.WaitAll(tasks, s_patience));
        }
        finally
        {
            DisposeAll(uploads);
        }

        Assert.True(tasks[0].IsCompletedSuccessfully);
        Assert.True(tasks[2].IsCompletedSuccessfully);
        var error = Assert.IsType<FileEngineException>(tasks[1].Exception!.InnerException);
        Assert.Equal(FileErrorCode.AlreadyExists, error.Code);
        Assert.Equal(data[0], File.ReadAllBytes(fx.InRoot(Name(0))));
        Assert.Equal("theirs", File.ReadAllText(fx.InRoot(Name(1))));
        Assert.Equal(data[2], File.ReadAllBytes(fx.InRoot(Name(2))));
    }

    [Fact]
    public void SyncFailure_FailsThatFileAlone_AndKeepsItForResume()
    {
        using var fx = new EngineFixture();
        var batcher = new CommitBatcher();
        var data = Enumerable.Range(0, 3).Select(i => RandomBytes(i, 7000)).ToArray();
        var uploads = Enumerable.Range(0, 3).Select(i => Begin(fx, batcher, Name(i), data[i])).ToArray();
        uploads[1].File.SyncSeam = _ => 5; // EIO
        batcher.BatchStarting = batch => Assert.Equal(3, batch.Count);
        Task[] tasks = [];
        try
        {
            tasks = HoldBatcher(batcher, fx, () => Enumerable.Range(0, 3).Select(i => uploads[i].File.CommitAsync(SHA256.HashData(data[i]))).ToArray());
            Assert.Throws<AggregateException>(() => Task.WaitAll(tasks, s_patience));
        }
        finally
        {
            DisposeAll(uploads);
        }

        Assert.True(tasks[0].IsCompletedSuccessfully);
        Assert.True(tasks[2].IsCompletedSuccessfully);
        var error = Assert.IsType<FileEngineException>(tasks[1].Exception!.InnerException);
        Assert.Equal(FileErrorCode.Io, error.Code);
        Assert.False(File.Exists(fx.InRoot(Name(1))));
        Assert.True(File.Exists(uploads[1].File.TempPath)); // kept, with its journal, for a resume
        Assert.Equal(data[0], File.ReadAllBytes(fx.InRoot(Name(0))));
        Assert.Equal(data[2], File.ReadAllBytes(fx.InRoot(Name(2))));
    }

    [Fact]
    public void IntegrityFailure_FailsThatFileAlone_TheOthersOfItsBatchLand()
    {
        using var fx = new EngineFixture();
        var batcher = new CommitBatcher();
        var data = Enumerable.Range(0, 3).Select(i => RandomBytes(i, 6000)).ToArray();
        var uploads = Enumerable.Range(0, 3).Select(i => Begin(fx, batcher, Name(i), data[i])).ToArray();
        var sizes = new List<int>();
        batcher.BatchStarting = batch => sizes.Add(batch.Count);
        FileEngineException? integrity = null;
        try
        {
            var tasks = HoldBatcher(batcher, fx, () =>
            {
                var a = uploads[0].File.CommitAsync(SHA256.HashData(data[0]));
                integrity = Assert.Throws<FileEngineException>(() => { _ = uploads[1].File.CommitAsync(new byte[32]); });
                var c = uploads[2].File.CommitAsync(SHA256.HashData(data[2]));
                return [a, c];
            });
            Assert.True(Task.WaitAll(tasks, s_patience));
        }
        finally
        {
            DisposeAll(uploads);
        }

        Assert.Equal(FileErrorCode.Integrity, integrity!.Code);
        Assert.Equal([2], sizes); // after the held batch, the two good files together
        Assert.False(File.Exists(fx.InRoot(Name(1))));
        Assert.False(File.Exists(uploads[1].File.TempPath));
        Assert.Equal(data[0], File.ReadAllBytes(fx.InRoot(Name(0))));
        Assert.Equal(data[2], File.ReadAllBytes(fx.InRoot(Name(2))));
    }

    /// <summary>
    /// Runs <paramref name="commit"/> while another file's batch is held open, so everything it commits queues and
    /// forms the next batch together; then lets the held batch finish.
    /// </summary>
    private static Task[] HoldBatcher(CommitBatcher batcher, EngineFixture fx, Func<Task[]> commit)
    {
        var data = RandomBytes(99, 1000);
        using var holder = Begin(fx, batcher, "holder.bin", data);
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var seamStarting = batcher.BatchStarting;
        var seamPublish = batcher.BeforePublish;
        batcher.BatchStarting = batch =>
        {
            if (batch.Count == 1 && batch[0] == holder.File)
            {
                held.Set();
                Assert.True(release.Wait(s_patience));
                return;
            }

            seamStarting?.Invoke(batch);
        };
        batcher.BeforePublish = batch =>
        {
            if (!batch.Contains(holder.File))
            {
                seamPublish?.Invoke(batch);
            }
        };

        var holding = StartCommit(holder, data);
        Assert.True(held.Wait(s_patience));
        var tasks = commit();
        release.Set();
        Assert.True(holding.Join(s_patience));
        return tasks;
    }

    private static Thread StartCommit(IncomingFile up, byte[] data)
    {
        // A failure shows as the file not committed (asserted by the callers), not as a crash of the test host.
        var t = new Thread(() =>
        {
            try
            {
                up.File.Commit(SHA256.HashData(data));
            }
            catch (FileEngineException)
            {
            }
        });
        t.Start();
        return t;
    }

    private static IncomingFile Begin(EngineFixture fx, CommitBatcher batcher, string name, byte[] data)
    {
        var up = fx.Engine.BeginUpload(name, data.Length, new FileIdentity(data.Length, 1), "test");
        up.File.Batcher = batcher;
        for (int off = 0; off < data.Length; off += 1400)
        {
            up.File.Write(off, data.AsSpan(off, Math.Min(1400, data.Length - off)));
        }

        return up;
    }

    private static string Name(int i) => $"d{i % 3}/f{i}.bin";

    private static byte[] RandomBytes(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static void DisposeAll(IncomingFile[] uploads)
    {
        foreach (var up in uploads)
        {
            up.Dispose();
        }
    }
}
