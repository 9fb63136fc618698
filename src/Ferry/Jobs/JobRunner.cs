using System.Diagnostics;
using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>
/// Runs a planned job through a carrier: reports what the plan already settled (warnings, files complete, sources that
/// failed), then every entry's progress and outcome as the carrier reports them, aggregated into one
/// <see cref="JobProgress"/>, then the totals. Returns <see cref="ExitCode.Ok"/>, or <see cref="ExitCode.Partial"/>
/// when any entry failed; a failure of the whole job (the carrier throws) propagates.
/// </summary>
public sealed class JobRunner : IJobObserver
{
    private readonly JobPlan _plan;
    private readonly IJobReport _report;
    private readonly long[] _bytes;
    private readonly long[] _resumed;
    private readonly Stopwatch _clock = new();
    private readonly int _filesTotal;
    private readonly long _bytesTotal;
    private long _bytesDone;
    private long _resumedBytes;
    private long _skippedBytes;
    private long _doneBytes;
    private int _filesFinished;
    private int _done;
    private int _skipped;
    private int _failed;
    private int _warnings;
    private volatile string? _current;

    public JobRunner(JobPlan plan, IJobReport report)
    {
        _plan = plan;
        _report = report;
        _bytes = new long[plan.Entries.Count];
        _resumed = new long[plan.Entries.Count];
        _filesTotal = plan.FilesTotal;
        _bytesTotal = plan.BytesTotal;
    }

    /// <summary>A warning from the carrier (an empty directory it cannot create): reported and counted.</summary>
    public void Warning(string message)
    {
        Interlocked.Increment(ref _warnings);
        _report.Warning(message);
    }

    public async Task<ExitCode> RunAsync(IJobCarrier carrier, RemoteUrl server, ClientOptions options, CancellationToken ct)
    {
        _clock.Start();
        foreach (string w in _plan.Warnings)
        {
            Warning(w);
        }

        _report.Start(_filesTotal, _bytesTotal);
        foreach (var f in _plan.Failures)
        {
            Finish(new JobFileEvent(f.Path, JobFileStatus.Failed, 0, null, f.Message, f.IsDirectory), ref _failed);
        }

        foreach (var c in _plan.Complete)
        {
            Interlocked.Add(ref _skippedBytes, c.Bytes);
            Interlocked.Add(ref _bytesDone, c.Bytes);
            Interlocked.Add(ref _resumedBytes, c.Bytes);
            Finish(new JobFileEvent(c.Path, JobFileStatus.Skipped, c.Bytes, null, null), ref _skipped);
        }

        if (_plan.Entries.Count > 0)
        {
            if (_plan.Upload)
            {
                await carrier.UploadAsync(server, _plan.Entries, options, this, ct).ConfigureAwait(false);
            }
            else
            {
                await carrier.DownloadAsync(server, _plan.Entries, options, this, ct).ConfigureAwait(false);
            }
        }

        _report.Done(new JobSummary(_filesTotal, _done, _skipped, _failed, _warnings, Interlocked.Read(ref _doneBytes), _skippedBytes, Interlocked.Read(ref _resumedBytes) - _skippedBytes, _clock.Elapsed));
        return _failed > 0 ? ExitCode.Partial : ExitCode.Ok;
    }

    public void EntryProgress(int index, long bytesDone, long resumedBytes)
    {
        long before = Interlocked.Exchange(ref _bytes[index], bytesDone);
        long resumedBefore = Interlocked.Exchange(ref _resumed[index], resumedBytes);
        Interlocked.Add(ref _bytesDone, bytesDone - before);
        Interlocked.Add(ref _resumedBytes, resumedBytes - resumedBefore);
        _current = _plan.DestinationOf(_plan.Entries[index]);
        ReportProgress();
    }

    public void EntryDone(int index, TransferResult result)
    {
        var entry = _plan.Entries[index];
        if (entry.Kind == JobEntryKind.Directory)
        {
            return;
        }

        EntryProgress(index, entry.Size, Math.Min(entry.Size, Math.Max(result.ResumedBytes, Interlocked.Read(ref _resumed[index]))));
        Interlocked.Add(ref _doneBytes, result.Bytes);
        Finish(new JobFileEvent(_plan.DestinationOf(entry), JobFileStatus.Done, result.Bytes, result.Sha256Hex, null), ref _done);
    }

    public void EntryFailed(int index, FailureKind kind, string message)
    {
        var entry = _plan.Entries[index];
        bool file = entry.Kind == JobEntryKind.File;
        if (file)
        {
            // Its bytes leave the count of those at the destination (the bar must not run past what is there).
            EntryProgress(index, 0, 0);
        }

        Finish(new JobFileEvent(_plan.DestinationOf(entry), JobFileStatus.Failed, 0, null, message, IsDirectory: !file), ref _failed);
    }

    private void Finish(JobFileEvent e, ref int counter)
    {
        Interlocked.Increment(ref counter);
        if (!e.IsDirectory)
        {
            Interlocked.Increment(ref _filesFinished);
        }

        _report.File(e);
        ReportProgress();
    }

    private void ReportProgress() =>
        _report.Progress(new JobProgress(Volatile.Read(ref _filesFinished), _filesTotal, Interlocked.Read(ref _bytesDone), _bytesTotal, Interlocked.Read(ref _resumedBytes), _current));
}
