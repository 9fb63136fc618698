using Ferry.Files;
using Ferry.Protocol.Tftp;

namespace Ferry.Tftp;

/// <summary>
/// Holds a transfer whose size is not known in advance (no tsize, or netascii) in a private temporary file, so it
/// can be handed to the file engine with its exact size once complete. Deleted on dispose.
/// Bounded by <paramref name="maxSize"/>: more is refused as "disk full" (TFTP error 3).
/// </summary>
internal sealed class SpoolFile : ITftpBlockSink, IDisposable
{
    private readonly FileStream _stream;
    private readonly long _maxSize;

    public SpoolFile(string path, long maxSize)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        Path = path;
        _stream = new FileStream(Path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose);
        _maxSize = maxSize;
    }

    public string Path { get; }

    public long Length => _stream.Length;

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (offset + data.Length > _maxSize)
        {
            throw new TftpSizeException($"file exceeds the size limit of {_maxSize} bytes");
        }

        _stream.Position = offset;
        _stream.Write(data);
    }

    /// <summary>Copies the spooled bytes into <paramref name="target"/> (sized <see cref="Length"/>).</summary>
    public void CopyTo(PartialFile target)
    {
        _stream.Flush();
        var buffer = new byte[256 * 1024];
        long offset = 0;
        _stream.Position = 0;
        int n;
        while ((n = _stream.Read(buffer)) > 0)
        {
            target.Write(offset, buffer.AsSpan(0, n));
            offset += n;
        }
    }

    public void Dispose() => _stream.Dispose();
}
