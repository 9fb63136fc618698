using Microsoft.Win32.SafeHandles;

namespace Ferry.Files;

/// <summary>A regular file under the server root, opened for positional reads. Owns its handle.</summary>
public sealed class ReadableFile : IDisposable
{
    internal ReadableFile(string relativePath, SafeFileHandle handle, long length, FileIdentity identity)
    {
        RelativePath = relativePath;
        Handle = handle;
        Length = length;
        Identity = identity;
    }

    /// <summary>
    /// Opens a local file (client side, no root jail) the same careful way the server does: never blocking on a
    /// fifo, refusing directories and devices, and recording the identity a resume needs.
    /// Throws <see cref="FileEngineException"/> (NotFound, NotRegularFile, Denied, Io) with <paramref name="path"/> in the message.
    /// </summary>
    public static ReadableFile OpenLocal(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var handle = NativeFile.OpenReadNonBlocking(Path.GetFullPath(path), out int errno, followSymlinks: true);
        if (handle is null)
        {
            throw errno switch
            {
                NativeFile.ENOENT or NativeFile.ENOTDIR => new FileEngineException(FileErrorCode.NotFound, $"'{path}' does not exist"),
                NativeFile.EACCES or NativeFile.EPERM => new FileEngineException(FileErrorCode.Denied, $"'{path}': permission denied"),
                _ => new FileEngineException(FileErrorCode.Io, $"'{path}': cannot open (errno {errno})"),
            };
        }

        try
        {
            if (!NativeFile.TryStat(handle, out var stat, out errno))
            {
                throw new FileEngineException(FileErrorCode.Io, $"'{path}': cannot stat (errno {errno})");
            }

            if (!stat.IsRegular)
            {
                throw new FileEngineException(FileErrorCode.NotRegularFile, stat.IsDirectory ? $"'{path}' is a directory" : $"'{path}' is not a regular file");
            }

            NativeFile.ClearNonBlocking(handle);
            return new ReadableFile(path, handle, stat.Size, new FileIdentity(stat.Size, stat.MtimeUnixMs));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The client's relative path (server side) or the local path as given (<see cref="OpenLocal"/>).</summary>
    public string RelativePath { get; }

    /// <summary>Size when opened; reads past it return 0.</summary>
    public long Length { get; }

    /// <summary>Size and mtime when opened: what a client records to resume a download of this version.</summary>
    public FileIdentity Identity { get; }

    public SafeFileHandle Handle { get; }

    /// <summary>Positional read (thread-safe, no shared file position); fills <paramref name="destination"/> unless EOF.</summary>
    public int ReadAt(long offset, Span<byte> destination) => ReadFully(Handle, offset, destination, RelativePath);

    /// <summary>A read-ahead, hashing view of this file (the source does not own the handle).</summary>
    public HashingFileSource CreateHashingSource(int blockSize = 1 << 20, bool backgroundHashing = false) => new(Handle, Length, blockSize, backgroundHashing: backgroundHashing);

    public void Dispose() => Handle.Dispose();

    internal static int ReadFully(SafeFileHandle handle, long offset, Span<byte> destination, string what)
    {
        int total = 0;
        try
        {
            while (total < destination.Length)
            {
                int n = RandomAccess.Read(handle, destination[total..], offset + total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }
        }
        catch (IOException ex) when (ex is not FileEngineException)
        {
            throw new FileEngineException(FileErrorCode.Io, $"'{what}': read failed: {ex.Message}", ex);
        }

        return total;
    }
}
