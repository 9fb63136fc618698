using System.Buffers;
using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>
/// A reliable, ordered byte stream in each direction of a connection (the STREAM frame), beside the file data: a job's
/// manifest and its per-file messages travel on it. The send half keeps what was written until the peer acknowledges
/// it, re-sends ranges whose packet was declared lost, and never sends past <see cref="Window"/> bytes beyond the first
/// byte not yet acknowledged. The receive half delivers bytes exactly once and in order, buffering at most
/// <see cref="Window"/> bytes (in at most <see cref="MaxPieces"/> pieces) of what arrived ahead of a gap. Pure: no
/// clock, no I/O; the connection decides when a frame may go and tells which were acknowledged or lost.
/// </summary>
public sealed class ControlStream
{
    /// <summary>How far past the first byte it has not delivered a receiver takes STREAM bytes (and a sender sends).</summary>
    public const int Window = 1 << 20;

    /// <summary>Most separate pieces a receiver holds ahead of a gap.</summary>
    public const int MaxPieces = 1024;

    /// <summary>Largest stream offset (exclusive end) a STREAM frame may name.</summary>
    public const long MaxOffset = 1L << 40;

    // Send half: the bytes from _sendBase (the first not acknowledged) to Written.
    private byte[] _buffer = Array.Empty<byte>();
    private int _bufferStart;
    private long _sendBase;
    private long _written;
    private long _nextNew;
    private readonly RangeSet _acked = new();
    private readonly RangeSet _retransmit = new();

    // Receive half.
    private long _delivered;
    private readonly RangeSet _ahead = new();
    private readonly SortedList<long, byte[]> _pieces = new();

    /// <summary>Bytes written so far (the send half's length).</summary>
    public long Written => _written;

    /// <summary>Bytes the peer acknowledged, counted from the start without a gap.</summary>
    public long Acknowledged => _sendBase;

    /// <summary>True when every byte written was acknowledged.</summary>
    public bool AllAcknowledged => _sendBase == _written;

    /// <summary>Bytes delivered in order to the application so far.</summary>
    public long Delivered => _delivered;

    /// <summary>True when a STREAM frame has something to carry: a lost range, or new bytes inside the window.</summary>
    public bool HasSendable => !_retransmit.IsEmpty || (_nextNew < _written && _nextNew < _sendBase + Window);

    /// <summary>Appends <paramref name="data"/> to the send half.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        if (_written + data.Length > MaxOffset)
        {
            throw new InvalidOperationException($"the control stream cannot carry more than {MaxOffset} bytes");
        }

        int used = (int)(_written - _sendBase);
        if (_bufferStart + used + data.Length > _buffer.Length)
        {
            // Slide what is unacknowledged to the front, growing when it does not fit.
            int need = used + data.Length;
            var target = need <= _buffer.Length ? _buffer : new byte[Math.Max(need, Math.Max(4096, _buffer.Length * 2))];
            Buffer.BlockCopy(_buffer, _bufferStart, target, 0, used);
            _buffer = target;
            _bufferStart = 0;
        }

        data.CopyTo(_buffer.AsSpan(_bufferStart + used));
        _written += data.Length;
    }

    /// <summary>
    /// Writes one STREAM frame into <paramref name="w"/>: a lost range first, else new bytes inside the window. False
    /// when there is nothing to send or no room for a byte.
    /// </summary>
    public bool TryWriteFrame(ref SpanWriter w, out long offset, out int length)
    {
        offset = 0;
        length = 0;
        int overhead = FrameCodec.StreamOverhead(_written, w.Remaining);
        long room = w.Remaining - overhead;
        if (room < 1)
        {
            return false;
        }

        if (!_retransmit.IsEmpty)
        {
            _retransmit.TryTakeFirst(room, out var r);
            offset = r.Start;
            length = (int)r.Length;
        }
        else
        {
            long limit = Math.Min(_written, _sendBase + Window);
            if (_nextNew >= limit)
            {
                return false;
            }

            offset = _nextNew;
            length = (int)Math.Min(room, limit - _nextNew);
            _nextNew += length;
        }

        FrameCodec.WriteStreamHeader(ref w, offset, length);
        _buffer.AsSpan(_bufferStart + (int)(offset - _sendBase), length).CopyTo(w.Free);
        w.Advance(length);
        return true;
    }

    /// <summary>The packet that carried <c>[offset, offset + length)</c> was acknowledged.</summary>
    public void OnAcked(long offset, int length)
    {
        long end = offset + length;
        if (end <= _sendBase)
        {
            return;
        }

        _acked.Add(offset, end);
        _retransmit.Remove(offset, end);
        long contiguous = _acked.ContiguousEnd(_sendBase);
        if (contiguous > _sendBase)
        {
            _bufferStart += (int)(contiguous - _sendBase);
            _sendBase = contiguous;
            _acked.Remove(0, _sendBase);
            if (_sendBase == _written)
            {
                _bufferStart = 0;
            }
        }
    }

    /// <summary>The packet that carried <c>[offset, offset + length)</c> was declared lost: what is not acknowledged goes again.</summary>
    public void OnLost(long offset, int length)
    {
        long start = Math.Max(offset, _sendBase);
        long end = offset + length;
        if (start >= end)
        {
            return;
        }

        foreach (var gap in _acked.Gaps(start, end).ToArray())
        {
            _retransmit.Add(gap.Start, gap.End);
        }
    }

    /// <summary>
    /// Takes a received STREAM frame. Returns the bytes it makes deliverable in order (empty when none), or null with
    /// <paramref name="error"/> when the peer broke the stream's rules (past the window, too many pieces).
    /// </summary>
    public byte[]? Receive(long offset, ReadOnlySpan<byte> data, out string? error)
    {
        error = null;
        long end = offset + data.Length;
        if (end > _delivered + Window)
        {
            error = $"STREAM bytes up to {end} are past the window ({_delivered} delivered + {Window})";
            return null;
        }

        if (end <= _delivered || data.IsEmpty)
        {
            return Array.Empty<byte>();
        }

        if (offset > _delivered)
        {
            // Ahead of a gap: keep only what is new.
            foreach (var gap in _ahead.Gaps(offset, end).ToArray())
            {
                _pieces.Add(gap.Start, data.Slice((int)(gap.Start - offset), (int)gap.Length).ToArray());
                _ahead.Add(gap.Start, gap.End);
            }

            if (_ahead.Count > MaxPieces)
            {
                error = $"STREAM left more than {MaxPieces} separate pieces ahead of a gap";
                return null;
            }

            return Array.Empty<byte>();
        }

        // In order: deliver it, then whatever it joins up with.
        var output = new ArrayBufferWriter<byte>(data.Length);
        output.Write(data[(int)(_delivered - offset)..]);

        _delivered = end;
        while (_pieces.Count > 0 && _pieces.Keys[0] <= _delivered)
        {
            long start = _pieces.Keys[0];
            var piece = _pieces.Values[0];
            _pieces.RemoveAt(0);
            long pieceEnd = start + piece.Length;
            if (pieceEnd > _delivered)
            {
                output.Write(piece.AsSpan((int)(_delivered - start)));
                _delivered = pieceEnd;
            }
        }

        _ahead.Remove(0, _delivered);
        return output.WrittenSpan.ToArray();
    }
}
