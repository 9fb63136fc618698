using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>How a job stands: files finished (done, skipped or failed) and bytes at the destination, of the totals.</summary>
/// <param name="Bytes">Bytes at the destination, files already complete and resumed prefixes included.</param>
/// <param name="ResumedBytes">Of <paramref name="Bytes"/>, those that were there before this run (rates leave them out).</param>
/// <param name="Current">The destination path of the file that reported last; null before any did.</param>
public readonly record struct JobProgress(int FilesDone, int FilesTotal, long Bytes, long BytesTotal, long ResumedBytes, string? Current);

/// <summary>How one file (or a directory that failed) of a job ended.</summary>
public enum JobFileStatus : byte
{
    Done = 1,
    Skipped = 2,
    Failed = 3,
}

/// <summary>One file finished, skipped as complete, or failed (a directory only when it failed).</summary>
/// <param name="Path">Where it goes (the remote path of an upload, the local path of a download), or the source that failed.</param>
/// <param name="Sha256">The verified digest of a file done; null otherwise.</param>
/// <param name="Error">Why it failed; null otherwise.</param>
public sealed record JobFileEvent(string Path, JobFileStatus Status, long Bytes, string? Sha256, string? Error, bool IsDirectory = false);

/// <summary>The totals of a finished job.</summary>
/// <param name="Files">Files of the job (done, skipped and failed).</param>
/// <param name="Bytes">Bytes of the files done in this run (resumed prefixes included).</param>
/// <param name="SkippedBytes">Bytes of the files skipped as complete.</param>
/// <param name="Warnings">Entries skipped with a warning (symlinks, special files, directories a scheme cannot create).</param>
public sealed record JobSummary(int Files, int Done, int Skipped, int Failed, int Warnings, long Bytes, long SkippedBytes, long ResumedBytes, TimeSpan Elapsed);

/// <summary>
/// Where a job reports (the CLI: a bar, NDJSON or a summary). Calls may come from several threads;
/// <see cref="Progress"/> comes often and should be cheap.
/// </summary>
public interface IJobReport
{
    /// <summary>Something skipped or not kept (a symlink in a source, an empty directory a scheme cannot create).</summary>
    void Warning(string message);

    void Start(int filesTotal, long bytesTotal);

    void Progress(JobProgress progress);

    void File(JobFileEvent file);

    void Done(JobSummary summary);
}
