using Ferry.Transfers;

namespace Ferry.Files;

/// <summary>
/// The one check of a client download's destination, for every scheme: a client writes only regular files.
/// A destination that exists and is a device, fifo, socket or directory is refused (an <c>--overwrite</c> as root
/// would otherwise turn <c>/dev/null</c> into a regular file). A symbolic link is written through, as <c>cp</c> and
/// <c>curl -o</c> do, but only to an existing regular file: the file it points at is replaced (atomically, by a new
/// file under that name) and the link stays. Clients call <see cref="CheckBeforeConnecting"/> before they send
/// anything; <see cref="PartialFile.ForDownload"/> checks again when it opens the destination.
/// </summary>
public static class DownloadDestination
{
    /// <summary>
    /// The absolute path of the file a download into <paramref name="destPath"/> creates or replaces (the target of
    /// a symlink). Throws <see cref="FileEngineException"/>: NotRegularFile for anything but a regular file or a
    /// new name, AlreadyExists for an existing file without <paramref name="overwrite"/>, InvalidPath for no name.
    /// </summary>
    public static string Resolve(string destPath, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrEmpty(destPath);
        string full = Path.GetFullPath(destPath);
        if (Path.GetFileName(full).Length == 0)
        {
            throw new FileEngineException(FileErrorCode.InvalidPath, $"'{destPath}' does not name a file");
        }

        if (!NativeFile.TryStatPath(full, out var stat, out _))
        {
            return full; // a new name (or a path the open reports on, e.g. a missing parent that gets created)
        }

        string target = full;
        bool link = stat.Type == NativeFile.S_IFLNK;
        if (link && !NativeFile.TryStatPath(full, out stat, out _, followSymlinks: true))
        {
            throw new FileEngineException(FileErrorCode.NotRegularFile,
                $"'{destPath}' is a symbolic link to a file that does not exist; ferry writes through a link only to an existing regular file");
        }

        if (!stat.IsRegular)
        {
            string what = link ? $"'{destPath}' is a symbolic link to {Describe(stat.Type)}" : $"'{destPath}' is {Describe(stat.Type)}";
            throw new FileEngineException(FileErrorCode.NotRegularFile,
                $"{what}, not a regular file; ferry downloads only into regular files (give a file name, or - for standard output)");
        }

        if (link)
        {
            // Stat'ed as a regular file a moment ago; realpath fails only if it vanished since: the open reports that.
            target = NativeFile.RealPath(full, out _) ?? full;
        }

        if (!overwrite)
        {
            throw new FileEngineException(FileErrorCode.AlreadyExists, Transfers.Failures.LocalExistsMessage(destPath));
        }

        return target;
    }

    /// <summary>
    /// <see cref="Resolve"/> for a client that has not connected yet: a refusal becomes a local I/O error (exit 6)
    /// with the same message, so nothing is asked of the server for a download that could never be stored.
    /// </summary>
    public static void CheckBeforeConnecting(string destPath, bool overwrite)
    {
        try
        {
            _ = Resolve(destPath, overwrite);
        }
        catch (FileEngineException e)
        {
            throw e.ToTransferException(local: true);
        }
    }

    /// <summary>
    /// Throws <see cref="TransferException"/> (exit 6) unless the directory that will hold <paramref name="localPath"/>
    /// exists and this process may create files in it (the download is written beside it, then renamed).
    /// </summary>
    public static void RequireWritableDirectory(string localPath)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(localPath)) ?? "/";
        if (!Directory.Exists(directory))
        {
            throw new TransferException(ExitCode.LocalIo, $"cannot write '{localPath}': the directory '{directory}' does not exist");
        }

        if ((OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) && NativeFile.CheckWritableDirectory(directory) is int errno and not 0)
        {
            throw new TransferException(ExitCode.LocalIo, $"cannot write '{localPath}': the directory '{directory}' is not writable ({System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)})");
        }
    }

    /// <summary>"a directory", "a character device", ... for a file type from <c>stat</c>.</summary>
    internal static string Describe(ushort type) => type switch
    {
        NativeFile.S_IFDIR => "a directory",
        NativeFile.S_IFCHR => "a character device",
        NativeFile.S_IFBLK => "a block device",
        NativeFile.S_IFIFO => "a fifo (named pipe)",
        NativeFile.S_IFSOCK => "a socket",
        NativeFile.S_IFLNK => "a symbolic link",
        _ => "a special file",
    };
}
