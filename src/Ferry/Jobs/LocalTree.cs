using Ferry.Files;

namespace Ferry.Jobs;

/// <summary>A regular file or directory found by <see cref="LocalTree.Walk"/>.</summary>
/// <param name="RelativePath">Below the walked source, '/'-separated; "" for the source itself.</param>
public sealed record LocalItem(JobEntryKind Kind, string FullPath, string RelativePath, long Size, long MtimeUnixMs, int Mode);

/// <summary>An entry the walk could not take: unreadable, vanished, or not a regular file or directory (skipped).</summary>
/// <param name="Skipped">True for a symlink or special file (a warning, not a failure).</param>
public sealed record LocalProblem(string FullPath, string RelativePath, string Message, bool Skipped);

/// <summary>What <see cref="LocalTree.Walk"/> found.</summary>
public sealed class LocalWalk
{
    /// <summary>Directories before what they hold, in a stable (ordinal) order.</summary>
    public List<LocalItem> Items { get; } = new();

    public List<LocalProblem> Problems { get; } = new();
}

/// <summary>
/// Walks a local source for a job: regular files and directories (empty ones too), never following a symlink below
/// the source (a symlink named as the source itself is followed, as cp and scp do). Symlinks, devices, fifos and
/// sockets are skipped, each one a <see cref="LocalProblem"/> with <c>Skipped</c> set. A directory that cannot be
/// read, a file that cannot be opened for reading and an entry that vanishes during the walk are problems of their
/// own, and the walk goes on.
/// </summary>
public static class LocalTree
{
    /// <summary>Deepest level walked below a source, as deep as the server lists.</summary>
    public const int MaxDepth = FileEngine.MaxListingDepth;

    public static LocalWalk Walk(string source)
    {
        var walk = new LocalWalk();
        string full = Path.GetFullPath(source);
        if (!NativeFile.TryStatPath(full, out var stat, out int errno, followSymlinks: true))
        {
            walk.Problems.Add(new LocalProblem(full, string.Empty, $"'{source}': {Describe(errno)}", Skipped: false));
            return walk;
        }

        if (!Visit(walk, full, string.Empty, stat, source))
        {
            return walk;
        }

        if (stat.IsDirectory)
        {
            WalkDirectory(walk, full, string.Empty, 0);
        }

        return walk;
    }

    /// <summary>Permission bits kept by a copy: rwx for user, group and other; never setuid, setgid or sticky.</summary>
    public static int PermissionBits(int mode) => mode & 0x1FF;

    /// <summary>
    /// Creates a downloaded directory (parents too; an existing one keeps its contents) and gives it
    /// <paramref name="mode"/> and <paramref name="mtimeUnixMs"/> (0: left as it is). Called after every file below it
    /// was written, so the mtime stays.
    /// </summary>
    public static void MakeDirectory(string path, int mode, long mtimeUnixMs)
    {
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, (UnixFileMode)mode);
        }

        if (mtimeUnixMs != 0)
        {
            Directory.SetLastWriteTimeUtc(path, DateTimeOffset.FromUnixTimeMilliseconds(mtimeUnixMs).UtcDateTime);
        }
    }

    private static void WalkDirectory(LocalWalk walk, string dir, string prefix, int depth)
    {
        string[] children;
        try
        {
            children = Directory.GetFileSystemEntries(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The directory itself was taken (it is created); what it holds cannot be known.
            walk.Problems.Add(new LocalProblem(dir, prefix, $"'{dir}': cannot read the directory: {e.Message}", Skipped: false));
            return;
        }

        Array.Sort(children, StringComparer.Ordinal);
        foreach (string child in children)
        {
            string rel = prefix.Length == 0 ? Path.GetFileName(child) : prefix + "/" + Path.GetFileName(child);
            if (!NativeFile.TryStatPath(child, out var stat, out int errno))
            {
                walk.Problems.Add(new LocalProblem(child, rel, $"'{child}': {Describe(errno)}", Skipped: false));
                continue;
            }

            if (!Visit(walk, child, rel, stat, child))
            {
                continue;
            }

            if (stat.IsDirectory)
            {
                if (depth + 1 >= MaxDepth)
                {
                    walk.Problems.Add(new LocalProblem(child, rel, $"'{child}': deeper than {MaxDepth} levels; not walked", Skipped: false));
                    continue;
                }

                WalkDirectory(walk, child, rel, depth + 1);
            }
        }
    }

    /// <summary>Adds a regular file or directory; records anything else. False when nothing was added.</summary>
    private static bool Visit(LocalWalk walk, string full, string rel, NativeFile.FileStat stat, string shown)
    {
        if (stat.IsDirectory)
        {
            walk.Items.Add(new LocalItem(JobEntryKind.Directory, full, rel, 0, stat.MtimeUnixMs, PermissionBits(stat.Mode)));
            return true;
        }

        if (!stat.IsRegular)
        {
            walk.Problems.Add(new LocalProblem(full, rel, $"skipped '{shown}': {TypeName(stat.Type)}, not a regular file or directory", Skipped: true));
            return false;
        }

        // Opened once here so that a file this user cannot read is reported now, beside the others, and not sent.
        using (var handle = NativeFile.OpenReadNonBlocking(full, out int errno, followSymlinks: rel.Length == 0))
        {
            if (handle is null)
            {
                walk.Problems.Add(new LocalProblem(full, rel, $"'{shown}': cannot read: {Describe(errno)}", Skipped: false));
                return false;
            }
        }

        walk.Items.Add(new LocalItem(JobEntryKind.File, full, rel, stat.Size, stat.MtimeUnixMs, PermissionBits(stat.Mode)));
        return true;
    }

    private static string TypeName(ushort type) => type switch
    {
        NativeFile.S_IFLNK => "a symbolic link",
        NativeFile.S_IFCHR => "a character device",
        NativeFile.S_IFBLK => "a block device",
        NativeFile.S_IFIFO => "a fifo",
        NativeFile.S_IFSOCK => "a socket",
        _ => "a special file",
    };

    private static string Describe(int errno) => errno switch
    {
        NativeFile.ENOENT => "vanished (no such file or directory)",
        NativeFile.EACCES or NativeFile.EPERM => "permission denied",
        NativeFile.ELOOP => "too many levels of symbolic links",
        _ => $"error {errno}",
    };
}
