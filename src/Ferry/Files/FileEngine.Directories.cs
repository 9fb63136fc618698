namespace Ferry.Files;

/// <summary>Directories a client asks for (MKDIR): created inside the root, with their mode and modification time.</summary>
public sealed partial class FileEngine
{
    /// <summary>
    /// Makes <paramref name="relativePath"/> a directory (its missing parents too, with the default mode), then gives
    /// it <paramref name="mode"/> (permission bits, masked to 0777; null: unchanged) and <paramref name="mtimeUnixMs"/>
    /// (null: unchanged). An existing directory only gets the mode and time. Fails with InvalidPath (outside the root,
    /// a symbolic link at the name), AlreadyExists (something other than a directory has the name), Denied, NoSpace.
    /// </summary>
    public void MakeDirectory(string relativePath, int? mode, long? mtimeUnixMs)
    {
        string full = ResolvePath(relativePath);
        if (NativeFile.TryStatPath(full, out var existing, out int errno))
        {
            if (!existing.IsDirectory)
            {
                throw NotADirectory(relativePath);
            }
        }
        else if (errno is NativeFile.ENOENT)
        {
            // The same creation and re-check of the jail as an upload's parents.
            CreateParents(full, relativePath);
        }
        else
        {
            throw new FileEngineException(FileErrorCode.Io, $"'{relativePath}': cannot stat (errno {errno})");
        }

        // Opened without following a final symbolic link, and checked once more on the descriptor: a link swapped in
        // after the checks above cannot make the mode or time land outside the root.
        using var handle = NativeFile.OpenReadNonBlocking(full, out errno) ?? throw errno switch
        {
            NativeFile.ENOENT or NativeFile.ENOTDIR => new FileEngineException(FileErrorCode.NotFound, $"'{relativePath}' vanished while being created"),
            NativeFile.EACCES or NativeFile.EPERM => new FileEngineException(FileErrorCode.Denied, $"'{relativePath}': permission denied"),
            NativeFile.ELOOP => Invalid(relativePath, "is a symbolic link"),
            _ => new FileEngineException(FileErrorCode.Io, $"'{relativePath}': cannot open (errno {errno})"),
        };
        CheckOpenedInsideRoot(handle, relativePath);
        if (!NativeFile.TryStat(handle, out var stat, out errno))
        {
            throw new FileEngineException(FileErrorCode.Io, $"'{relativePath}': cannot stat (errno {errno})");
        }

        if (!stat.IsDirectory)
        {
            throw NotADirectory(relativePath);
        }

        int rc = NativeFile.SetModeAndMtime(handle, mode, mtimeUnixMs);
        if (rc != 0)
        {
            throw rc is NativeFile.EPERM or NativeFile.EACCES or NativeFile.EROFS
                ? new FileEngineException(FileErrorCode.Denied, $"'{relativePath}': cannot set the directory's mode or time: permission denied")
                : new FileEngineException(FileErrorCode.Io, $"'{relativePath}': cannot set the directory's mode or time (errno {rc})");
        }
    }

    private static FileEngineException NotADirectory(string relativePath) =>
        new(FileErrorCode.AlreadyExists, $"'{relativePath}' already exists on the server and is not a directory");
}
