namespace Ferry.Protocol.Tftp;

/// <summary>
/// Decodes netascii DATA into local text and writes it sequentially to an octet sink. The receiver delivers each
/// wire offset once and in order, which is what a streaming decoder needs; call <see cref="Finish"/> at the end.
/// </summary>
public sealed class NetasciiBlockSink : ITftpBlockSink
{
    private readonly ITftpBlockSink _inner;
    private readonly NetasciiDecoder _decoder = new();
    private byte[] _buffer = new byte[1024];

    public NetasciiBlockSink(ITftpBlockSink inner)
    {
        _inner = inner;
    }

    /// <summary>Bytes written to the inner sink (the local file size).</summary>
    public long FileLength { get; private set; }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (_buffer.Length < data.Length + 1)
        {
            _buffer = new byte[data.Length + 1];
        }

        int n = _decoder.Decode(data, _buffer);
        Emit(n);
    }

    /// <summary>Flushes a CR held at the very end of the data.</summary>
    public void Finish() => Emit(_decoder.Finish(_buffer));

    private void Emit(int n)
    {
        if (n > 0)
        {
            _inner.Write(FileLength, _buffer.AsSpan(0, n));
            FileLength += n;
        }
    }
}
