using System.Runtime.ExceptionServices;

namespace Ferry.Files;

/// <summary>
/// Group commit of received files. Committing a file alone costs two journal commits of the filesystem (the fsync
/// of its data, the fsync of its directory after the rename); files committed at the same time share them. The first
/// committer to find no batch running leads one at once (nothing waits for company); committers arriving meanwhile
/// queue, and when the batch ends one of them leads the next, which takes every file queued by then. A batch: fsync
/// every file not yet durable (concurrently), rename each (no overwrite, as alone), fsync each distinct directory once,
/// delete each journal. Nothing appears under a final name before every file of its batch is durable, and every
/// committer returns only once its own file is durable under its final name, with its own error if it has one.
/// </summary>
internal sealed class CommitBatcher
{
    /// <summary>Where files are committed unless their owner (a <see cref="FileEngine"/>) has its own batcher.</summary>
    public static CommitBatcher Shared { get; } = new();

    // Monitor, not Lock: blocked committers wait on it for their batch or for their turn to lead.
    private readonly object _gate = new();
    private List<Entry> _queue = new();
    private bool _running;

    /// <summary>Most fsyncs a batch has in flight at once.</summary>
    private const int MaxParallelSyncs = 16;

    /// <summary>Test seam: called with a batch's files when it starts (no file of the batch is in place yet).</summary>
    internal Action<IReadOnlyList<PartialFile>>? BatchStarting { get; set; }

    /// <summary>Test seam: called with a batch's files once all are durable, before the first rename.</summary>
    internal Action<IReadOnlyList<PartialFile>>? BeforePublish { get; set; }

    /// <summary>Batches run so far.</summary>
    internal int Batches { get; private set; }

    /// <summary>Committers waiting for a batch to take them.</summary>
    internal int Queued
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// Puts <paramref name="file"/> (verified, maybe already synced by its committer) in place durably; blocks until it
    /// is, leading a batch when none runs. Throws this file's error.
    /// </summary>
    public void Commit(PartialFile file)
    {
        var entry = new Entry(file, completion: null);
        List<Entry>? batch = null;
        lock (_gate)
        {
            _queue.Add(entry);
            while (!entry.Done)
            {
                if (!_running)
                {
                    _running = true;
                    batch = TakeQueueLocked();
                    break;
                }

                Monitor.Wait(_gate);
            }
        }

        if (batch is not null)
        {
            Run(batch);
            bool continueInBackground;
            lock (_gate)
            {
                // Blocked committers still queued lead the next batch themselves; queued asynchronous ones have no
                // thread of their own, so a pool thread runs their batches.
                continueInBackground = _queue.Count > 0 && _queue.TrueForAll(static e => e.Completion is not null);
                _running = continueInBackground;
                Monitor.PulseAll(_gate);
            }

            if (continueInBackground)
            {
                _ = Task.Run(RunQueued);
            }
        }

        entry.Error?.Throw();
    }

    /// <summary>As <see cref="Commit"/>, without blocking: the batch runs on a pool thread when none is running.</summary>
    public Task CommitAsync(PartialFile file)
    {
        var entry = new Entry(file, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_gate)
        {
            _queue.Add(entry);
            start = !_running;
            _running = true;
        }

        if (start)
        {
            _ = Task.Run(RunQueued);
        }

        return entry.Completion!.Task;
    }

    private void RunQueued()
    {
        while (true)
        {
            List<Entry> batch;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _running = false;
                    Monitor.PulseAll(_gate);
                    return;
                }

                batch = TakeQueueLocked();
            }

            Run(batch);
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    private List<Entry> TakeQueueLocked()
    {
        var batch = _queue;
        _queue = new List<Entry>();
        return batch;
    }

    private void Run(List<Entry> batch)
    {
        try
        {
            RunBatch(batch);
        }
        catch (Exception ex)
        {
            // Not one file's failure (those are caught per file below): every file of the batch without a result fails.
            foreach (var e in batch)
            {
                e.Error ??= ExceptionDispatchInfo.Capture(ex);
            }
        }
        finally
        {
            lock (_gate)
            {
                Batches++;
                foreach (var e in batch)
                {
                    e.Done = true;
                }
            }

            foreach (var e in batch)
            {
                if (e.Error is { } err)
                {
                    e.Completion?.TrySetException(err.SourceException);
                }
                else
                {
                    e.Completion?.TrySetResult();
                }
            }
        }
    }

    private void RunBatch(List<Entry> batch)
    {
        var files = batch.ConvertAll(static e => e.File);
        BatchStarting?.Invoke(files);

        // Files not yet durable (asynchronous committers have no thread to sync on) are fsynced concurrently: fsyncs
        // in flight together share the filesystem's journal commits, one after another each needs its own (ext4 records
        // the size on disk when the write completes). A syncfs per batch measured no faster, would also wait for every
        // other dirty byte of the filesystem (a large upload in progress), and before Linux 5.8 reports no write error.
        var unsynced = batch.FindAll(static e => e.File.CommittingHandle is not null);
        ForEachConcurrently(unsynced, static e => Try(e, static f => f.SyncForCommit()));

        BeforePublish?.Invoke(files);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in batch)
        {
            if (e.Error is null)
            {
                Try(e, f => directories.Add(f.Publish()));
            }
        }

        // One fsync per directory, all at once: the first one's journal commit carries every rename of the batch, and
        // the device cache flush each of the others still issues is merged with theirs only while they are concurrent.
        ForEachConcurrently(directories.ToList(), NativeFile.SyncDirectory);

        foreach (var e in batch)
        {
            if (e.Error is null)
            {
                Try(e, static f => f.FinishCommit());
            }
        }
    }

    private static void ForEachConcurrently<T>(List<T> items, Action<T> action)
    {
        if (items.Count == 1)
        {
            action(items[0]);
        }
        else if (items.Count > 1)
        {
            Parallel.ForEach(items, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelSyncs }, action);
        }
    }

    private static void Try(Entry e, Action<PartialFile> step)
    {
        try
        {
            step(e.File);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            e.Error = ExceptionDispatchInfo.Capture(ex);
        }
    }

    private sealed class Entry(PartialFile file, TaskCompletionSource? completion)
    {
        public PartialFile File { get; } = file;

        public TaskCompletionSource? Completion { get; } = completion;

        public ExceptionDispatchInfo? Error { get; set; }

        /// <summary>Set under the gate once the batch that took this entry has ended.</summary>
        public bool Done { get; set; }
    }
}
