using Ferry.Protocol.Tcp;

namespace Ferry.Protocol.Jobs;

/// <summary>
/// Cuts a byte stream that carries job frames (the 5-byte header of tcp://'s frames, then the payload: ENTRIES, STATUS,
/// FILE_HASH, FILE_ABORT, FILE_RESULT, DONE) into whole frames, as udp://'s control streams carry them. Each header is
/// checked (type allowed in this direction, length within the type's bounds) before its payload is waited for, so at
/// most one frame (1 MiB and its header) plus the bytes appended last are held.
/// </summary>
public sealed class JobFrameReader
{
    private readonly bool _fromClient;
    private byte[] _buffer = new byte[4096];
    private int _start;
    private int _end;

    /// <param name="fromClient">True when the stream is the client's (the side that sent the REQUEST).</param>
    public JobFrameReader(bool fromClient)
    {
        _fromClient = fromClient;
    }

    /// <summary>Adds the next bytes of the stream.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (_end + bytes.Length > _buffer.Length)
        {
            int held = _end - _start;
            var target = held + bytes.Length <= _buffer.Length ? _buffer : new byte[Math.Max(held + bytes.Length, _buffer.Length * 2)];
            Buffer.BlockCopy(_buffer, _start, target, 0, held);
            _buffer = target;
            _start = 0;
            _end = held;
        }

        bytes.CopyTo(_buffer.AsSpan(_end));
        _end += bytes.Length;
    }

    /// <summary>
    /// The next whole frame: true with its type and payload; false when more bytes are needed (<paramref name="status"/>
    /// Ok) or the stream is malformed (<paramref name="status"/> says how; the stream is then unusable).
    /// </summary>
    public bool TryRead(out TcpFrameType type, out byte[] payload, out TcpDecodeStatus status)
    {
        type = default;
        payload = Array.Empty<byte>();
        status = TcpDecodeStatus.Ok;
        var held = _buffer.AsSpan(_start, _end - _start);
        if (held.Length < TcpWire.FrameHeaderLength)
        {
            return false;
        }

        status = TcpFrameHeader.TryRead(held, TcpConnectionKind.Control, _fromClient, out var header);
        if (status != TcpDecodeStatus.Ok)
        {
            return false;
        }

        if (held.Length < TcpWire.FrameHeaderLength + header.Length)
        {
            return false;
        }

        type = header.Type;
        payload = held.Slice(TcpWire.FrameHeaderLength, header.Length).ToArray();
        _start += TcpWire.FrameHeaderLength + header.Length;
        if (_start == _end)
        {
            _start = _end = 0;
        }

        return true;
    }
}
