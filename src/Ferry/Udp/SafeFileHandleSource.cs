using Ferry.Files;

namespace Ferry.Udp;

/// <summary>A local file opened for sending: its size, modification time (the resume identity), permission bits and hashing source.</summary>
internal sealed class SafeFileHandleSource : IDisposable
{
    private readonly FileDataSource _source;

    private SafeFileHandleSource(FileDataSource source, long length, long mtimeUnixMs, int? mode)
    {
        _source = source;
        Length = length;
        MtimeUnixMs = mtimeUnixMs;
        Mode = mode;
    }

    /// <summary>The permission bits (0..0o777) the uploaded file gets on the server; null: unknown (the server's default).</summary>
    public int? Mode { get; }

    public long Length { get; }

    public long MtimeUnixMs { get; }

    public FileDataSource Data => _source;

    public static SafeFileHandleSource Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"'{path}' does not exist");
        }

        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        long length = RandomAccess.GetLength(handle);
        var source = new FileDataSource(new HashingFileSource(handle, length, ownsHandle: true, backgroundHashing: true), Path.GetFileName(path));
        int? mode = NativeFile.PermissionBits(handle);
        return new SafeFileHandleSource(source, length, new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeMilliseconds(), mode);
    }

    public void Dispose() => _source.Dispose();
}
