using Ferry.Files;
using Ferry.Protocol.Listing;
using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>
/// Turns <c>ferry send SRC... URL</c> and <c>ferry get URL... DEST</c> into a <see cref="JobPlan"/>: walks the local
/// sources or lists the remote ones, applies <see cref="DestinationRule"/> against what the destination holds, and
/// leaves out every file already complete there (same size and same modification time, to the millisecond).
/// </summary>
public static class JobPlanner
{
    /// <summary>The name a local source is copied under: its own name ("." and ".." resolved first).</summary>
    public static string LocalName(string source) => Path.GetFileName(Path.GetFullPath(source).TrimEnd('/'));

    /// <summary>Whether a file at the destination is the complete copy of a source: the same size and modification time (ms).</summary>
    public static bool IsComplete(long sourceSize, long sourceMtimeMs, long destSize, long destMtimeMs) =>
        sourceSize == destSize && sourceMtimeMs == destMtimeMs;

    public static async Task<JobPlan> PlanUploadAsync(ITransferClient client, IReadOnlyList<string> sources, RemoteUrl dest, ClientOptions options, Action<string>? notice, CancellationToken ct)
    {
        DestinationRule.RequireDirectoryForSeveral(dest.Path, sources.Count);
        var failures = new List<PlannedFailure>();
        var warnings = new List<string>();
        var walks = new List<(LocalWalk Walk, CopySource Source)>();
        foreach (string source in sources)
        {
            var walk = LocalTree.Walk(source);
            foreach (var p in walk.Problems)
            {
                if (p.Skipped)
                {
                    warnings.Add(p.Message);
                }
                else
                {
                    failures.Add(new PlannedFailure(p.FullPath, FailureKind.Io, p.Message, IsDirectory: Directory.Exists(p.FullPath)));
                }
            }

            if (walk.Items.Count > 0)
            {
                walks.Add((walk, new CopySource(LocalName(source), walk.Items[0].Kind == JobEntryKind.Directory)));
            }
        }

        if (walks.Count == 0)
        {
            return new JobPlan(upload: true, [], [], failures, warnings);
        }

        string destPath = DestinationRule.Normalize(dest.Path);
        var remote = new RemoteSide(client, dest, options, ct);
        await remote.LoadAsync(destPath, notice).ConfigureAwait(false);

        string[] targets = DestinationRule.Resolve(dest.Path, walks.Select(w => w.Source).ToList(), remote.StateOf);
        var entries = new List<JobEntry>();
        var complete = new List<PlannedSkip>();
        var settledDirs = new List<JobEntry>();
        for (int i = 0; i < walks.Count; i++)
        {
            var (walk, source) = walks[i];
            string target = targets[i];
            var existing = source.IsDirectory && remote.StateOf(target) == DestinationState.Directory
                ? await remote.ListBelowAsync(target).ConfigureAwait(false)
                : new Dictionary<string, ListingEntry>(StringComparer.Ordinal);
            foreach (var item in walk.Items)
            {
                string remotePath = DestinationRule.Join(target, item.RelativePath);
                var there = item.RelativePath.Length == 0 ? remote.EntryAt(target) : existing.GetValueOrDefault(item.RelativePath);
                var entry = new JobEntry(0, item.Kind, item.FullPath, remotePath, item.Size, item.MtimeUnixMs, item.Mode);
                Decide(entry, there, remotePath, entries, complete, settledDirs);
            }
        }

        return new JobPlan(upload: true, JobPlan.Order(WithUnsettledDirs(entries, settledDirs, e => e.RemotePath)), complete, failures, warnings);
    }

    public static async Task<JobPlan> PlanDownloadAsync(ITransferClient client, IReadOnlyList<RemoteUrl> sources, string dest, ClientOptions options, CancellationToken ct)
    {
        DestinationRule.RequireDirectoryForSeveral(dest, sources.Count);
        var failures = new List<PlannedFailure>();
        var warnings = new List<string>();
        var found = new List<(RemoteUrl Url, string Path, RemoteStat Stat, CopySource Source)>();
        foreach (var url in sources)
        {
            string path = DestinationRule.Normalize(url.Path);
            RemoteStat stat;
            try
            {
                stat = await RemoteTree.StatAsync(client, url, path, options, ct).ConfigureAwait(false);
            }
            catch (TransferException e) when (JobErrors.IsPerEntry(e))
            {
                failures.Add(new PlannedFailure(url.ToString(), e.Failure ?? FailureKind.Io, e.Message));
                continue;
            }

            if (stat.State == DestinationState.Missing)
            {
                failures.Add(new PlannedFailure(url.ToString(), FailureKind.NotFound, $"{url}: not found on the server"));
                continue;
            }

            if (stat.Entry is { Type: ListingEntryType.Symlink or ListingEntryType.Other })
            {
                warnings.Add($"skipped '{url}': {(stat.Entry.Type == ListingEntryType.Symlink ? "a symbolic link" : "a special file")} on the server");
                continue;
            }

            found.Add((url, path, stat, new CopySource(DestinationRule.NameOf(path), stat.State == DestinationState.Directory)));
        }

        if (found.Count == 0)
        {
            return new JobPlan(upload: false, [], [], failures, warnings);
        }

        string[] targets = DestinationRule.Resolve(dest, found.Select(f => f.Source).ToList(), LocalStateOf);
        var entries = new List<JobEntry>();
        var complete = new List<PlannedSkip>();
        var settledDirs = new List<JobEntry>();
        for (int i = 0; i < found.Count; i++)
        {
            var (url, path, stat, source) = found[i];
            string target = Path.GetFullPath(targets[i].Length == 0 ? "." : targets[i]);
            if (!source.IsDirectory)
            {
                var file = stat.Entry!;
                Decide(new JobEntry(0, JobEntryKind.File, target, path, file.Size, file.MtimeUnixMs, file.Mode), LocalEntry(target), target, entries, complete, settledDirs);
                continue;
            }

            var top = stat.Entry;
            Decide(new JobEntry(0, JobEntryKind.Directory, target, path, 0, top?.MtimeUnixMs ?? JobEntry.UnknownMtime, top?.Mode ?? JobEntry.UnknownMode), LocalEntry(target), target, entries, complete, settledDirs);
            var below = await RemoteTree.ListAsync(client, url, path, options, ct).ConfigureAwait(false);
            foreach (var e in below.Values.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                string remotePath = DestinationRule.Join(path, e.Name);
                if (e.Type is ListingEntryType.Symlink or ListingEntryType.Other)
                {
                    warnings.Add($"skipped '{remotePath}': {(e.Type == ListingEntryType.Symlink ? "a symbolic link" : "a special file")} on the server");
                    continue;
                }

                string local = Path.Combine(target, e.Name);
                var kind = e.Type == ListingEntryType.Directory ? JobEntryKind.Directory : JobEntryKind.File;
                Decide(new JobEntry(0, kind, local, remotePath, kind == JobEntryKind.File ? e.Size : 0, e.MtimeUnixMs, e.Mode), LocalEntry(local), local, entries, complete, settledDirs);
            }
        }

        return new JobPlan(upload: false, JobPlan.Order(WithUnsettledDirs(entries, settledDirs, e => e.LocalPath)), complete, failures, warnings);
    }

    /// <summary>
    /// Sends a file that is not complete at the destination on, and lists a complete one as skipped. A directory whose
    /// time and mode already match is set aside (<paramref name="settledDirs"/>): it needs nothing unless something
    /// below it is written, which would change its modification time.
    /// </summary>
    private static void Decide(JobEntry entry, ListingEntry? there, string destination, List<JobEntry> entries, List<PlannedSkip> complete, List<JobEntry> settledDirs)
    {
        if (entry.Kind == JobEntryKind.File)
        {
            if (there is { Type: ListingEntryType.File } && IsComplete(entry.Size, entry.MtimeUnixMs, there.Size, there.MtimeUnixMs))
            {
                complete.Add(new PlannedSkip(destination, entry.Size));
            }
            else
            {
                entries.Add(entry);
            }

            return;
        }

        if (there is { Type: ListingEntryType.Directory } && there.MtimeUnixMs == entry.MtimeUnixMs && there.Mode == entry.Mode)
        {
            settledDirs.Add(entry);
        }
        else
        {
            entries.Add(entry);
        }
    }

    /// <summary>The entries, plus every settled directory that has an entry to write below it.</summary>
    private static List<JobEntry> WithUnsettledDirs(List<JobEntry> entries, List<JobEntry> settledDirs, Func<JobEntry, string> pathOf)
    {
        foreach (var dir in settledDirs)
        {
            string prefix = pathOf(dir).TrimEnd('/') + "/";
            if (entries.Any(e => pathOf(e).StartsWith(prefix, StringComparison.Ordinal)))
            {
                entries.Add(dir);
            }
        }

        return entries;
    }

    private static DestinationState LocalStateOf(string path)
    {
        var entry = LocalEntry(Path.GetFullPath(path.Length == 0 ? "." : path));
        return entry is null ? DestinationState.Missing : entry.Type == ListingEntryType.Directory ? DestinationState.Directory : DestinationState.File;
    }

    /// <summary>A local path as a listing entry (following a symlink, as a download writes through one); null when missing.</summary>
    private static ListingEntry? LocalEntry(string full)
    {
        if (!NativeFile.TryStatPath(full, out var stat, out _, followSymlinks: true))
        {
            return null;
        }

        var type = stat.IsDirectory ? ListingEntryType.Directory : stat.IsRegular ? ListingEntryType.File : ListingEntryType.Other;
        return new ListingEntry(type, LocalTree.PermissionBits(stat.Mode), stat.Size, stat.MtimeUnixMs, Path.GetFileName(full));
    }

    /// <summary>What the destination server holds around the destination path, listed once before the job.</summary>
    private sealed class RemoteSide(ITransferClient client, RemoteUrl server, ClientOptions options, CancellationToken ct)
    {
        private readonly Dictionary<string, ListingEntry> _children = new(StringComparer.Ordinal);
        private string _dest = string.Empty;
        private RemoteStat _stat = new(DestinationState.Missing, null);
        private bool _canList = true;

        public async Task LoadAsync(string dest, Action<string>? notice)
        {
            _dest = dest;
            try
            {
                _stat = await RemoteTree.StatAsync(client, server, dest, options, ct).ConfigureAwait(false);
                if (_stat.State == DestinationState.Directory)
                {
                    foreach (var e in await client.ListAsync(server.WithPath(dest.Length == 0 ? string.Empty : dest + "/"), recursive: false, options, ct).ConfigureAwait(false))
                    {
                        _children[e.Name] = e;
                    }
                }
            }
            catch (TransferException e) when (e.Code == ExitCode.Usage)
            {
                // A scheme that cannot list (zmq://): nothing is known of the destination, so nothing is skipped.
                _canList = false;
                _stat = new RemoteStat(DestinationState.Missing, null);
            }
            catch (TransferException e) when (e.Failure is FailureKind.Unauthorized or FailureKind.Denied)
            {
                // A token that may write but not read: every file is sent, and the server refuses what exists.
                notice?.Invoke($"warning: cannot list '{dest}' on the server ({e.Message}); files already there are not recognised");
                _canList = false;
                _stat = new RemoteStat(DestinationState.Missing, null);
            }
        }

        public DestinationState StateOf(string path) => EntryAt(path) is { } e ? RemoteTree.StateOf(e) : path == _dest ? _stat.State : DestinationState.Missing;

        public ListingEntry? EntryAt(string path)
        {
            if (path == _dest)
            {
                return _stat.Entry;
            }

            string prefix = _dest.Length == 0 ? string.Empty : _dest + "/";
            return path.StartsWith(prefix, StringComparison.Ordinal) && _children.TryGetValue(path[prefix.Length..], out var e) ? e : null;
        }

        public async Task<Dictionary<string, ListingEntry>> ListBelowAsync(string path)
        {
            if (!_canList)
            {
                return new Dictionary<string, ListingEntry>(StringComparer.Ordinal);
            }

            try
            {
                return await RemoteTree.ListAsync(client, server, path, options, ct).ConfigureAwait(false);
            }
            catch (TransferException e) when (e.Failure is FailureKind.Unauthorized or FailureKind.Denied or FailureKind.NotFound)
            {
                return new Dictionary<string, ListingEntry>(StringComparer.Ordinal);
            }
        }
    }
}
