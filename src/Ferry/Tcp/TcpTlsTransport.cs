using System.Net.Sockets;

namespace Ferry.Tcp;

/// <summary>
/// The byte stream under an SslStream: the socket, with a receive buffer and an optional send buffer. SslStream
/// moves at most one 16 KiB record per call; without these, a 1 GiB transfer would cost 65,536 receive and 65,536
/// send calls per side instead of a few thousand, and those calls, not AES-GCM, would dominate encryption's cost.
/// Reads are always buffered (one reader). Writes are gathered only between <see cref="BeginGather"/> and
/// <see cref="EndGatherAsync"/> (one frame's records, one writer at a time); everything else (handshake, alerts) is
/// written at once. On the client it also keeps the first bytes received, so a failed handshake can show a cleartext
/// ERROR frame the server sent instead of TLS.
/// </summary>
internal sealed class TcpTlsTransport : Stream
{
    // Small while handshaking (a flood of half-open connections pins little memory), large once established.
    private const int HandshakeBufferSize = 4096;
    private const int BufferSize = 128 * 1024;

    private readonly Socket _socket;
    private readonly byte[]? _first;
    private byte[] _in = new byte[HandshakeBufferSize];
    private byte[]? _out;
    private int _inPos;
    private int _inLen;
    private int _outLen;
    private int _recorded;
    private bool _recording;
    private bool _gathering;

    /// <param name="keepFirstBytes">How many of the first received bytes to keep (0: none).</param>
    public TcpTlsTransport(Socket socket, int keepFirstBytes = 0)
    {
        _socket = socket;
        if (keepFirstBytes > 0)
        {
            _first = new byte[keepFirstBytes];
            _recording = true;
        }
    }

    /// <summary>The first bytes received, up to the number kept.</summary>
    public ReadOnlySpan<byte> First => _first is null ? default : _first.AsSpan(0, _recorded);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>The handshake succeeded: stop keeping first bytes, and receive in large pieces from now on.</summary>
    public void Established()
    {
        _recording = false;
        var larger = new byte[BufferSize];
        int pending = _inLen - _inPos;
        _in.AsSpan(_inPos, pending).CopyTo(larger);
        _in = larger;
        _inPos = 0;
        _inLen = pending;
    }

    /// <summary>From now on writes collect in the send buffer until <see cref="EndGatherAsync"/>.</summary>
    public void BeginGather()
    {
        _out ??= new byte[BufferSize];
        _gathering = true;
    }

    /// <summary>Sends what was gathered and goes back to writing at once.</summary>
    public async ValueTask EndGatherAsync(CancellationToken ct)
    {
        _gathering = false;
        if (_outLen > 0)
        {
            int n = _outLen;
            _outLen = 0;
            await SendAllAsync(_out.AsMemory(0, n), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Drops whatever was gathered (the write failed) and goes back to writing at once.</summary>
    public void DiscardGathered()
    {
        _gathering = false;
        _outLen = 0;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_inPos == _inLen)
        {
            _inPos = 0;
            _inLen = await ReceiveAsync(_in, cancellationToken).ConfigureAwait(false);
            if (_inLen == 0)
            {
                return 0;
            }

            if (_recording)
            {
                Record(_in.AsSpan(0, _inLen));
            }
        }

        int n = Math.Min(buffer.Length, _inLen - _inPos);
        _in.AsMemory(_inPos, n).CopyTo(buffer);
        _inPos += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_gathering)
        {
            return SendAllAsync(buffer, cancellationToken);
        }

        if (_outLen + buffer.Length <= _out!.Length)
        {
            buffer.CopyTo(_out.AsMemory(_outLen));
            _outLen += buffer.Length;
            return ValueTask.CompletedTask;
        }

        return SpillAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    // Gathered writes reach the socket in EndGatherAsync; a flush in between changes nothing.
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async ValueTask SpillAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct)
    {
        if (_outLen > 0)
        {
            int n = _outLen;
            _outLen = 0;
            await SendAllAsync(_out.AsMemory(0, n), ct).ConfigureAwait(false);
        }

        if (buffer.Length >= _out!.Length)
        {
            await SendAllAsync(buffer, ct).ConfigureAwait(false);
        }
        else
        {
            buffer.CopyTo(_out);
            _outLen = buffer.Length;
        }
    }

    // Socket failures surface as IOException around the SocketException, as NetworkStream reports them.
    private async ValueTask<int> ReceiveAsync(Memory<byte> destination, CancellationToken ct)
    {
        try
        {
            return await _socket.ReceiveAsync(destination, SocketFlags.None, ct).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        try
        {
            while (!data.IsEmpty)
            {
                int n = await _socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
                data = data[n..];
            }
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    private void Record(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, _first!.Length - _recorded);
        data[..n].CopyTo(_first.AsSpan(_recorded));
        _recorded += n;
        if (_recorded == _first.Length)
        {
            _recording = false;
        }
    }
}
