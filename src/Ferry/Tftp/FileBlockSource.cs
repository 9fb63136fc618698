using Ferry.Files;
using Ferry.Protocol.Tftp;

namespace Ferry.Tftp;

/// <summary>
/// Serves DATA blocks of a file under the root with read-ahead: one positional read fills a 256 KiB buffer that
/// answers the next blocks and the retransmission of a recent window without touching the disk again.
/// </summary>
internal sealed class FileBlockSource : ITftpBlockSource
{
    private const int CacheSize = 256 * 1024;
    private readonly ReadableFile _file;
    private readonly byte[] _cache;
    private long _cacheStart;
    private int _cacheLength;

    public FileBlockSource(ReadableFile file)
    {
        _file = file;
        _cache = new byte[(int)Math.Min(CacheSize, Math.Max(file.Length, 1))];
    }

    public int Read(long offset, Span<byte> destination)
    {
        if (offset >= _file.Length)
        {
            return 0;
        }

        if (offset < _cacheStart || offset + Math.Min(destination.Length, _file.Length - offset) > _cacheStart + _cacheLength)
        {
            if (destination.Length > _cache.Length)
            {
                return _file.ReadAt(offset, destination);
            }

            _cacheStart = offset;
            _cacheLength = _file.ReadAt(offset, _cache);
        }

        int n = (int)Math.Min(destination.Length, _cacheStart + _cacheLength - offset);
        _cache.AsSpan((int)(offset - _cacheStart), n).CopyTo(destination);
        return n;
    }
}
