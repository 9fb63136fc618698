namespace Ferry.Protocol.Tftp;

/// <summary>
/// Presents a local text file (an octet <see cref="ITftpBlockSource"/>) as its netascii encoding. Wire offsets no
/// longer match file offsets, so the encoded bytes are produced sequentially and the last
/// <c>retainBytes</c> behind the furthest read are kept for retransmission (the sender never goes back more than
/// one window).
/// </summary>
public sealed class NetasciiBlockSource : ITftpBlockSource
{
    private readonly ITftpBlockSource _inner;
    private readonly NetasciiEncoder _encoder = new();
    private readonly byte[] _fileChunk = new byte[16 * 1024];
    private readonly int _retain;
    private byte[] _wire;
    private long _wireStart;
    private int _wireLength;
    private long _fileOffset;
    private int _chunkStart;
    private int _chunkLength;
    private bool _fileEnded;

    /// <param name="inner">The file's bytes.</param>
    /// <param name="retainBytes">Wire bytes kept behind the furthest read: (window + 1) * blksize is enough.</param>
    public NetasciiBlockSource(ITftpBlockSource inner, int retainBytes)
    {
        _inner = inner;
        _retain = retainBytes;
        _wire = new byte[Math.Max(retainBytes * 2, 64 * 1024)];
    }

    public int Read(long offset, Span<byte> destination)
    {
        if (offset < _wireStart)
        {
            throw new InvalidOperationException($"netascii offset {offset} was released (kept from {_wireStart})");
        }

        long end = offset + destination.Length;
        Fill(end);
        long available = _wireStart + _wireLength;
        if (offset >= available)
        {
            return 0;
        }

        int n = (int)Math.Min(destination.Length, available - offset);
        _wire.AsSpan((int)(offset - _wireStart), n).CopyTo(destination);
        Release(Math.Max(0, end - _retain));
        return n;
    }

    private void Fill(long end)
    {
        while (_wireStart + _wireLength < end)
        {
            if (_chunkStart == _chunkLength)
            {
                if (_fileEnded)
                {
                    if (!_encoder.HasPending)
                    {
                        return;
                    }
                }
                else
                {
                    _chunkLength = _inner.Read(_fileOffset, _fileChunk);
                    _chunkStart = 0;
                    _fileOffset += _chunkLength;
                    _fileEnded = _chunkLength < _fileChunk.Length;
                }
            }

            EnsureRoom((int)Math.Min(end - (_wireStart + _wireLength), 32 * 1024));
            int written = _encoder.Encode(_fileChunk.AsSpan(_chunkStart, _chunkLength - _chunkStart), _wire.AsSpan(_wireLength), out int consumed);
            _chunkStart += consumed;
            _wireLength += written;
            if (written == 0 && consumed == 0 && _fileEnded && _chunkStart == _chunkLength)
            {
                return;
            }
        }
    }

    private void EnsureRoom(int wanted)
    {
        if (_wire.Length - _wireLength >= Math.Max(wanted, 2))
        {
            return;
        }

        var bigger = new byte[Math.Max(_wire.Length * 2, _wireLength + wanted + 2)];
        _wire.AsSpan(0, _wireLength).CopyTo(bigger);
        _wire = bigger;
    }

    private void Release(long below)
    {
        // Compact only when a good part of the buffer can go, so the copy is amortised over many reads.
        if (below - _wireStart < _wire.Length / 4)
        {
            return;
        }

        int drop = (int)Math.Min(below - _wireStart, _wireLength);
        _wire.AsSpan(drop, _wireLength - drop).CopyTo(_wire);
        _wireLength -= drop;
        _wireStart += drop;
    }
}
