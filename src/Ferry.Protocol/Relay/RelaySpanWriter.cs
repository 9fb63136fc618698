using System.Buffers.Binary;
using System.Text;

namespace Ferry.Protocol.Relay;

/// <summary>Big-endian writer into a caller's buffer; callers size the buffer (<see cref="RelayWire.MaxDatagram"/>) and bound every field first.</summary>
internal ref struct RelaySpanWriter
{
    private readonly Span<byte> _buffer;

    public RelaySpanWriter(Span<byte> buffer, int position)
    {
        _buffer = buffer;
        Position = position;
    }

    public int Position { get; private set; }

    public readonly int Remaining => _buffer.Length - Position;

    public void U8(byte value) => _buffer[Position++] = value;

    public void U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Position..], value);
        Position += 2;
    }

    public void U32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[Position..], value);
        Position += 4;
    }

    public void U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_buffer[Position..], value);
        Position += 8;
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_buffer[Position..]);
        Position += value.Length;
    }

    /// <summary>A UTF-8 string with a 1- or 2-byte length prefix; the caller has checked its byte length.</summary>
    public void String(int prefixBytes, string value)
    {
        int start = Position + prefixBytes;
        int n = Encoding.UTF8.GetBytes(value, _buffer[start..]);
        if (prefixBytes == 1)
        {
            _buffer[Position] = (byte)n;
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[Position..], (ushort)n);
        }

        Position = start + n;
    }
}
