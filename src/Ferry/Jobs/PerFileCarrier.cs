using System.Diagnostics;
using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>
/// Carries a job over a scheme's single-file client: one <see cref="ITransferClient.SendAsync"/> or
/// <see cref="ITransferClient.GetAsync"/> per file (so every file keeps that client's guarantees: temp file, SHA-256,
/// no overwrite without permission, resume, one upload per path), up to <see cref="Parallel"/> files at once.
/// Directories: a download creates them first and gives them their time and mode last, deepest first; an upload asks
/// the server to create each one (<see cref="ITransferClient.MakeDirectoryAsync"/>) after the files below it. A scheme
/// that cannot create directories still gets every directory that holds a file (an upload creates its parents); an
/// empty one is skipped with a warning.
/// </summary>
public sealed class PerFileCarrier : IJobCarrier
{
    /// <summary>Files in flight at once unless told otherwise.</summary>
    public const int DefaultParallel = 8;

    /// <summary>The most files in flight at once (each one is a connection of its own).</summary>
    public const int MaxParallel = 64;

    private readonly ITransferClient _client;
    private readonly Action<string> _warning;

    /// <param name="warning">Where an empty directory the scheme cannot create is reported.</param>
    public PerFileCarrier(ITransferClient client, Action<string> warning, int parallel = DefaultParallel)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallel, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(parallel, MaxParallel);
        _client = client;
        _warning = warning;
        Parallel = parallel;
    }

    public int Parallel { get; }

    /// <summary>
    /// The options of each file's transfer: a job's <c>--limit-rate</c> is split equally among the files in flight,
    /// so the files together never exceed it (each its own connection, none knows the others).
    /// </summary>
    private ClientOptions PerFile(ClientOptions options, IReadOnlyList<JobEntry> entries)
    {
        int inFlight = Math.Min(Parallel, entries.Count(e => e.Kind == JobEntryKind.File));
        if (options.LimitRate <= 0 || inFlight <= 1)
        {
            return options;
        }

        var own = options.Clone();
        own.LimitRate = Math.Max(RateLimits.Min, options.LimitRate / inFlight);
        return own;
    }

    public async Task UploadAsync(RemoteUrl server, IReadOnlyList<JobEntry> entries, ClientOptions options, IJobObserver observer, CancellationToken cancellationToken)
    {
        options = PerFile(options, entries);
        var keys = UploadKeys.Default;
        await ForEachFileAsync(entries, observer, async (entry, progress, ct) =>
        {
            var remote = server.WithPath(entry.RemotePath);
            var own = options.Clone();
            own.UploadKey = keys?.GetOrCreate(entry.LocalPath, remote);
            var result = await WhileBusyAsync(() => _client.SendAsync(entry.LocalPath, remote, own, progress, ct), ct).ConfigureAwait(false);
            keys?.Forget(entry.LocalPath, remote);
            return result;
        }, cancellationToken).ConfigureAwait(false);

        var holding = Holding(entries, e => e.RemotePath);
        bool canMake = true;
        foreach (var dir in entries.Where(e => e.Kind == JobEntryKind.Directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (canMake)
            {
                try
                {
                    var clock = Stopwatch.StartNew();
                    await WhileBusyAsync(async () =>
                    {
                        await _client.MakeDirectoryAsync(server.WithPath(dir.RemotePath), dir.Mode, dir.MtimeUnixMs, options, cancellationToken).ConfigureAwait(false);
                        return true;
                    }, cancellationToken).ConfigureAwait(false);
                    observer.EntryDone(dir.Index, new TransferResult(0, clock.Elapsed, string.Empty));
                    continue;
                }
                catch (TransferException e) when (e.Code == ExitCode.Usage)
                {
                    canMake = false; // the scheme cannot: every directory from here on is handled below
                }
                catch (Exception e) when (JobErrors.PerEntry(e) is { } failure)
                {
                    observer.EntryFailed(dir.Index, failure.Kind, failure.Message);
                    continue;
                }
            }

            if (!holding.Contains(dir.RemotePath) && dir.RemotePath.Length > 0)
            {
                _warning($"{_client.Scheme}:// cannot create directories: empty directory '{dir.RemotePath}' skipped");
            }

            observer.EntryDone(dir.Index, new TransferResult(0, TimeSpan.Zero, string.Empty));
        }
    }

    public async Task DownloadAsync(RemoteUrl server, IReadOnlyList<JobEntry> entries, ClientOptions options, IJobObserver observer, CancellationToken cancellationToken)
    {
        options = PerFile(options, entries);
        // Every directory first (parents of files included): a download is written beside its final name.
        var failedDirs = new HashSet<int>();
        foreach (var dir in entries.Where(e => e.Kind == JobEntryKind.Directory).Reverse())
        {
            try
            {
                Directory.CreateDirectory(dir.LocalPath);
            }
            catch (Exception e) when (JobErrors.PerEntry(e) is { } failure)
            {
                failedDirs.Add(dir.Index);
                observer.EntryFailed(dir.Index, failure.Kind, $"'{dir.LocalPath}': cannot create the directory: {failure.Message}");
            }
        }

        await ForEachFileAsync(entries, observer, async (entry, progress, ct) =>
        {
            Directory.CreateDirectory(Path.GetDirectoryName(entry.LocalPath)!);
            var result = await WhileBusyAsync(() => _client.GetAsync(server.WithPath(entry.RemotePath), entry.LocalPath, options, progress, ct), ct).ConfigureAwait(false);
            SetMetadata(entry, isDirectory: false);
            return result;
        }, cancellationToken).ConfigureAwait(false);

        foreach (var dir in entries.Where(e => e.Kind == JobEntryKind.Directory && !failedDirs.Contains(e.Index)))
        {
            try
            {
                SetMetadata(dir, isDirectory: true);
                observer.EntryDone(dir.Index, new TransferResult(0, TimeSpan.Zero, string.Empty));
            }
            catch (Exception e) when (JobErrors.PerEntry(e) is { } failure)
            {
                observer.EntryFailed(dir.Index, failure.Kind, $"'{dir.LocalPath}': cannot set its time and mode: {failure.Message}");
            }
        }
    }

    /// <summary>How long a server that says it is busy is asked again, at most, for one entry.</summary>
    public static readonly TimeSpan BusyPatience = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs <paramref name="attempt"/> again while the server refuses it as busy (too many connections from this
    /// address: a connection the server closed a moment ago still counts while it drains, and a job opens one per
    /// file), waiting 50 ms, then twice as long each time up to 2 s, for at most <see cref="BusyPatience"/>.
    /// </summary>
    private static async Task<T> WhileBusyAsync<T>(Func<Task<T>> attempt, CancellationToken ct)
    {
        var wait = TimeSpan.FromMilliseconds(50);
        var waited = TimeSpan.Zero;
        while (true)
        {
            try
            {
                return await attempt().ConfigureAwait(false);
            }
            catch (TransferException e) when (e.Failure == FailureKind.ServerBusy && waited < BusyPatience)
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
                waited += wait;
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }

    /// <summary>Gives a downloaded file or a directory the source's modification time, then its permission bits.</summary>
    private static void SetMetadata(JobEntry entry, bool isDirectory)
    {
        if (entry.MtimeUnixMs != JobEntry.UnknownMtime)
        {
            var when = DateTimeOffset.FromUnixTimeMilliseconds(entry.MtimeUnixMs).UtcDateTime;
            if (isDirectory)
            {
                Directory.SetLastWriteTimeUtc(entry.LocalPath, when);
            }
            else
            {
                File.SetLastWriteTimeUtc(entry.LocalPath, when);
            }
        }

        if (entry.Mode >= 0 && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(entry.LocalPath, (UnixFileMode)(entry.Mode & 0x1FF));
        }
    }

    /// <summary>Every directory path that holds at least one entry of the job (and so exists once that entry is written).</summary>
    private static HashSet<string> Holding(IReadOnlyList<JobEntry> entries, Func<JobEntry, string> pathOf)
    {
        var holding = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            string p = pathOf(e);
            for (int slash = p.LastIndexOf('/'); slash > 0; slash = p.LastIndexOf('/', slash - 1))
            {
                if (!holding.Add(p[..slash]))
                {
                    break;
                }
            }
        }

        return holding;
    }

    /// <summary>
    /// Runs <paramref name="move"/> for every file entry, up to <see cref="Parallel"/> at once. The first file goes alone:
    /// it meets the server first (its key pinned once, a dead server or a wrong key found once, before others start).
    /// A failure of one file is reported and the others go on; a failure of the job stops the others and is thrown.
    /// </summary>
    private async Task ForEachFileAsync(
        IReadOnlyList<JobEntry> entries, IJobObserver observer, Func<JobEntry, IProgress<TransferProgress>, CancellationToken, Task<TransferResult>> move, CancellationToken cancellationToken)
    {
        var files = entries.Where(e => e.Kind == JobEntryKind.File).ToList();
        if (files.Count == 0)
        {
            return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        async Task One(JobEntry entry)
        {
            try
            {
                var result = await move(entry, new EntryProgress(observer, entry.Index), stop.Token).ConfigureAwait(false);
                observer.EntryDone(entry.Index, result);
            }
            catch (Exception e) when (JobErrors.PerEntry(e) is { } failure && !stop.IsCancellationRequested)
            {
                observer.EntryFailed(entry.Index, failure.Kind, failure.Message);
            }
            catch
            {
                await stop.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }

        await One(files[0]).ConfigureAwait(false);
        int next = 1;
        var running = new List<Task>();
        while (next < files.Count || running.Count > 0)
        {
            while (running.Count < Parallel && next < files.Count && !stop.IsCancellationRequested)
            {
                running.Add(One(files[next++]));
            }

            if (running.Count == 0)
            {
                break;
            }

            var finished = await Task.WhenAny(running).ConfigureAwait(false);
            running.Remove(finished);
            if (finished.IsFaulted || finished.IsCanceled)
            {
                // Let the others end (they were cancelled), then throw the job's failure.
                await Task.WhenAll(running.Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default))).ConfigureAwait(false);
                await finished.ConfigureAwait(false);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>One entry's progress, passed to the observer with the entry's index.</summary>
    private sealed class EntryProgress(IJobObserver observer, int index) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            if (value.ConnectingTo is null)
            {
                observer.EntryProgress(index, value.BytesDone, value.ResumedBytes);
            }
        }
    }
}
