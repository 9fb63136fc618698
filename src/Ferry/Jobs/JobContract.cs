namespace Ferry.Jobs;

/// <summary>What a job entry is: a regular file, or a directory (created, empty or not, with its metadata).</summary>
public enum JobEntryKind : byte
{
    File = 1,
    Directory = 2,
}

/// <summary>
/// One entry of a job, as the job planner decided it: where it is on this machine, where it goes (or comes from) on the
/// server, and the metadata the copy keeps. <paramref name="Index"/> is the entry's position in the job (0-based),
/// the key every report uses.
/// </summary>
/// <param name="Index">Position in the job's entry list.</param>
/// <param name="Kind">File or directory.</param>
/// <param name="LocalPath">Absolute local path (the source of an upload, the final destination of a download).</param>
/// <param name="RemotePath">Path relative to the server root, '/' separators, no leading '/'.</param>
/// <param name="Size">Bytes of a file (the source's size); 0 for a directory.</param>
/// <param name="MtimeUnixMs">Modification time of the source, ms since the Unix epoch; kept by the copy (<see cref="UnknownMtime"/>: left as it is).</param>
/// <param name="Mode">Permission bits of the source, 0..0o777 (never setuid, setgid or sticky); kept by the copy (<see cref="UnknownMode"/>: left as it is).</param>
public sealed record JobEntry(int Index, JobEntryKind Kind, string LocalPath, string RemotePath, long Size, long MtimeUnixMs, int Mode)
{
    /// <summary>The modification time of a directory the planner could not see (the server root as a source).</summary>
    public const long UnknownMtime = long.MinValue;

    /// <summary>The mode of a directory the planner could not see.</summary>
    public const int UnknownMode = -1;
}

/// <summary>
/// What a carrier reports while it moves a job's entries. Calls may come from any thread, for several entries at
/// once; every entry handed to the carrier ends with exactly one <see cref="EntryDone"/> or <see cref="EntryFailed"/>
/// unless the carrier throws (the whole job failed: the server is unreachable, its key is wrong, Ctrl+C).
/// </summary>
public interface IJobObserver
{
    /// <summary>Bytes of entry <paramref name="index"/> at the receiver so far, of which <paramref name="resumedBytes"/> were there before this run.</summary>
    void EntryProgress(int index, long bytesDone, long resumedBytes);

    /// <summary>The entry is complete at the destination, verified, under its final name, with its metadata.</summary>
    void EntryDone(int index, Transfers.TransferResult result);

    /// <summary>The entry failed; the others go on. <paramref name="kind"/> says why, <paramref name="message"/> in words.</summary>
    void EntryFailed(int index, Transfers.FailureKind kind, string message);
}

/// <summary>
/// One URL scheme's way to move the entries of a job over one server (one per command). The job (planning, the
/// destination rule, skipping what is complete, progress, summary, exit code) is the engine's; a carrier only moves the
/// entries it is handed. Directories come after every file below them, deepest first, so that their modification
/// times are set after their contents were written.
/// </summary>
public interface IJobCarrier
{
    /// <summary>Uploads <paramref name="entries"/> to the server named by <paramref name="server"/> (its path is ignored).</summary>
    Task UploadAsync(Transfers.RemoteUrl server, IReadOnlyList<JobEntry> entries, Transfers.ClientOptions options, IJobObserver observer, CancellationToken cancellationToken);

    /// <summary>Downloads <paramref name="entries"/> from the server named by <paramref name="server"/> (its path is ignored).</summary>
    Task DownloadAsync(Transfers.RemoteUrl server, IReadOnlyList<JobEntry> entries, Transfers.ClientOptions options, IJobObserver observer, CancellationToken cancellationToken);
}
