using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>A file the planner found complete at the destination (same size and modification time): not sent again.</summary>
/// <param name="Path">The destination path (remote path of an upload, local path of a download).</param>
public sealed record PlannedSkip(string Path, long Bytes);

/// <summary>An entry that failed before the job started (a source that cannot be read or was refused).</summary>
/// <param name="Path">The path as the user knows it (the local source, or the remote source).</param>
public sealed record PlannedFailure(string Path, FailureKind Kind, string Message, bool IsDirectory = false);

/// <summary>
/// A job as planned: the entries a carrier moves (every file first, then the directories, deepest first), the files
/// already complete, what failed or was skipped before anything moved, and the totals progress is measured against.
/// </summary>
public sealed class JobPlan
{
    public JobPlan(bool upload, IReadOnlyList<JobEntry> entries, IReadOnlyList<PlannedSkip> complete, IReadOnlyList<PlannedFailure> failures, IReadOnlyList<string> warnings)
    {
        Upload = upload;
        Entries = entries;
        Complete = complete;
        Failures = failures;
        Warnings = warnings;
    }

    /// <summary>True for <c>ferry send</c>, false for <c>ferry get</c>.</summary>
    public bool Upload { get; }

    public IReadOnlyList<JobEntry> Entries { get; }

    public IReadOnlyList<PlannedSkip> Complete { get; }

    public IReadOnlyList<PlannedFailure> Failures { get; }

    /// <summary>Symlinks and special files skipped, one line each.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Every file of the job: to move, already complete, or failed before it started.</summary>
    public int FilesTotal => Entries.Count(e => e.Kind == JobEntryKind.File) + Complete.Count + Failures.Count(f => !f.IsDirectory);

    /// <summary>Bytes of the files to move and of those already complete.</summary>
    public long BytesTotal => Entries.Where(e => e.Kind == JobEntryKind.File).Sum(e => e.Size) + Complete.Sum(c => c.Bytes);

    /// <summary>Where an entry goes: the remote path of an upload, the local path of a download.</summary>
    public string DestinationOf(JobEntry entry) => Upload ? entry.RemotePath : entry.LocalPath;

    /// <summary>
    /// Orders entries as carriers take them (files in the order found, then directories deepest first) and numbers them.
    /// </summary>
    public static List<JobEntry> Order(IEnumerable<JobEntry> entries)
    {
        var list = entries.ToList();
        var files = list.Where(e => e.Kind == JobEntryKind.File);
        var dirs = list.Where(e => e.Kind == JobEntryKind.Directory)
            .OrderByDescending(e => e.RemotePath.Count(c => c == '/'))
            .ThenBy(e => e.RemotePath, StringComparer.Ordinal);
        return files.Concat(dirs).Select((e, i) => e with { Index = i }).ToList();
    }
}
