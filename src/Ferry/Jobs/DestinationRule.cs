using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>What is at a destination path before a job runs.</summary>
public enum DestinationState : byte
{
    Missing = 0,
    File = 1,
    Directory = 2,
}

/// <summary>A source of a job as the destination rule sees it: its own name (the last part of its path) and its kind.</summary>
public readonly record struct CopySource(string Name, bool IsDirectory);

/// <summary>
/// Where each source of <c>ferry send</c> / <c>ferry get</c> goes, the same rule for local and remote destinations
/// (paths '/'-separated), chosen so that running the same command again targets the same paths:
/// <list type="bullet">
/// <item>a destination ending in '/' (or being '.' or '..', or the remote root) means <i>into this directory</i>, under
/// each source's own name; it may be missing (it is created) but not a file;</item>
/// <item>otherwise the destination names the copy: a directory source becomes that directory (created, or completed),
/// a file source becomes that file, except that a file goes inside an existing directory, as cp does;</item>
/// <item>several sources need a destination ending in '/';</item>
/// <item>a directory source onto an existing file, or a file source onto an existing directory (once the above has
/// chosen the path), is an error.</item>
/// </list>
/// Pure: what exists is asked of <c>stateOf</c>.
/// </summary>
public static class DestinationRule
{
    /// <summary>Whether <paramref name="dest"/> means "into this directory".</summary>
    public static bool MeansInto(string dest) =>
        dest.Length == 0 || dest.EndsWith('/') || dest is "." or ".." || dest.EndsWith("/.", StringComparison.Ordinal) || dest.EndsWith("/..", StringComparison.Ordinal);

    /// <summary>
    /// The target path of every source, in order. <paramref name="stateOf"/> is asked about normalised paths (the
    /// destination, and the destination joined with a source's name). Throws a usage error when the command cannot be
    /// carried out as written.
    /// </summary>
    public static string[] Resolve(string dest, IReadOnlyList<CopySource> sources, Func<string, DestinationState> stateOf)
    {
        ArgumentNullException.ThrowIfNull(dest);
        if (sources.Count == 0)
        {
            throw new TransferException(ExitCode.Usage, "no source given");
        }

        bool into = MeansInto(dest);
        string dir = Normalize(dest);
        RequireDirectoryForSeveral(dest, sources.Count);

        var targets = new string[sources.Count];
        if (into)
        {
            if (stateOf(dir) == DestinationState.File)
            {
                throw new TransferException(ExitCode.Usage, $"'{dest}' is a file, not a directory");
            }

            for (int i = 0; i < sources.Count; i++)
            {
                targets[i] = Join(dir, sources[i].Name);
                Check(sources[i], targets[i], stateOf(targets[i]));
            }

            var duplicate = targets.GroupBy(t => t, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw new TransferException(ExitCode.Usage, $"two sources have the same name: both would go to '{duplicate.Key}'");
            }

            return targets;
        }

        var source = sources[0];
        var state = stateOf(dir);
        if (source.IsDirectory)
        {
            Check(source, dir, state);
            targets[0] = dir;
        }
        else if (state == DestinationState.Directory)
        {
            targets[0] = Join(dir, source.Name);
            Check(source, targets[0], stateOf(targets[0]));
        }
        else
        {
            targets[0] = dir;
        }

        return targets;
    }

    /// <summary>Several sources need a destination ending in '/': checked before anything else is asked.</summary>
    public static void RequireDirectoryForSeveral(string dest, int sources)
    {
        if (sources > 1 && !MeansInto(dest))
        {
            throw new TransferException(ExitCode.Usage, $"several sources need a destination ending in '/' (a directory to put them in): '{dest}/'");
        }
    }

    /// <summary>
    /// <paramref name="path"/> without '.' segments, empty segments or a trailing '/', and with each '..' taking away the
    /// segment before it (leading '..' stay). "" is the current directory (or the remote root); a leading '/' stays.
    /// </summary>
    public static string Normalize(string path)
    {
        bool absolute = path.StartsWith('/');
        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == ".." && parts.Count > 0 && parts[^1] != "..")
            {
                parts.RemoveAt(parts.Count - 1);
            }
            else if (part != ".." || !absolute)
            {
                parts.Add(part);
            }
        }

        string joined = string.Join('/', parts);
        return absolute ? "/" + joined : joined;
    }

    /// <summary><paramref name="name"/> inside the normalised directory <paramref name="dir"/> ("" or "/" included).</summary>
    public static string Join(string dir, string name) =>
        name.Length == 0 ? dir : dir.Length == 0 ? name : dir.EndsWith('/') ? dir + name : dir + "/" + name;

    /// <summary>The last segment of a path (its own name); "" for the root.</summary>
    public static string NameOf(string path)
    {
        string n = Normalize(path);
        int slash = n.LastIndexOf('/');
        return slash < 0 ? n : n[(slash + 1)..];
    }

    private static void Check(CopySource source, string target, DestinationState state)
    {
        if (source.IsDirectory && state == DestinationState.File)
        {
            throw new TransferException(ExitCode.Usage, $"cannot copy the directory '{source.Name}' onto '{Shown(target)}', which is a file");
        }

        if (!source.IsDirectory && state == DestinationState.Directory)
        {
            throw new TransferException(ExitCode.Usage, $"cannot copy the file '{source.Name}' onto '{Shown(target)}', which is a directory");
        }
    }

    private static string Shown(string path) => path.Length == 0 ? "." : path;
}
