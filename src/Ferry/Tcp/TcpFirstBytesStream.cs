namespace Ferry.Tcp;

/// <summary>
/// A pass-through stream under the client's SslStream that keeps a copy of the first bytes the server sent. When the
/// TLS handshake fails, those bytes tell why: a Ferry server that cannot encrypt answers a ClientHello with a
/// cleartext ERROR frame, which SslStream itself can only report as "not TLS".
/// </summary>
internal sealed class TcpFirstBytesStream : Stream
{
    private readonly Stream _inner;
    private readonly byte[] _first;
    private int _recorded;
    private bool _stopped;

    public TcpFirstBytesStream(Stream inner, int keep)
    {
        _inner = inner;
        _first = new byte[keep];
    }

    /// <summary>The bytes received so far, up to the number kept.</summary>
    public ReadOnlySpan<byte> First => _first.AsSpan(0, Volatile.Read(ref _recorded));

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Called once the handshake succeeded: from then on reads go straight through (no copy, no extra state machine).</summary>
    public void StopRecording() => _stopped = true;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _stopped ? _inner.ReadAsync(buffer, cancellationToken) : ReadAndRecordAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = _inner.Read(buffer, offset, count);
        if (!_stopped)
        {
            Record(buffer.AsSpan(offset, n));
        }

        return n;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override void Flush() => _inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> ReadAndRecordAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Record(buffer.Span[..n]);
        return n;
    }

    private void Record(ReadOnlySpan<byte> data)
    {
        int at = _recorded;
        if (at >= _first.Length || data.IsEmpty)
        {
            return;
        }

        int n = Math.Min(data.Length, _first.Length - at);
        data[..n].CopyTo(_first.AsSpan(at));
        Volatile.Write(ref _recorded, at + n);
    }
}
