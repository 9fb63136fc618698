using System.Buffers.Binary;
using System.Text;

using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Common;

/// <summary>A forward-only writer into a caller's buffer. Callers check <see cref="Remaining"/> before writing.</summary>
public ref struct SpanWriter
{
    private readonly Span<byte> _buffer;
    private int _pos;

    public SpanWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _pos = 0;
    }

    public readonly int Position => _pos;

    public readonly int Remaining => _buffer.Length - _pos;

    public readonly Span<byte> Written => _buffer[.._pos];

    public readonly Span<byte> Free => _buffer[_pos..];

    public void Advance(int count) => _pos += count;

    public void WriteByte(byte value) => _buffer[_pos++] = value;

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_pos..], value);
        _pos += 2;
    }

    public void WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_buffer[_pos..], value);
        _pos += 8;
    }

    public void WriteVarInt(ulong value)
    {
        int n = VarInt.Write(_buffer[_pos..], value);
        if (n == 0)
        {
            throw new InvalidOperationException("varint does not fit");
        }

        _pos += n;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer[_pos..]);
        _pos += bytes.Length;
    }

    public void WriteString(string value)
    {
        int len = Encoding.UTF8.GetByteCount(value);
        WriteVarInt((ulong)len);
        _pos += Encoding.UTF8.GetBytes(value, _buffer[_pos..]);
    }

    public static int StringSize(string value)
    {
        int len = Encoding.UTF8.GetByteCount(value);
        return VarInt.SizeOf((ulong)len) + len;
    }
}
