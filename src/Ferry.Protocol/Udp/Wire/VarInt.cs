using System.Buffers.Binary;

namespace Ferry.Protocol.Udp.Wire;

/// <summary>
/// Variable-length integers as in RFC 9000 section 16: the two high bits of the first byte give the length
/// (1, 2, 4 or 8 bytes), the rest is the value in network byte order. Values up to 2^62-1.
/// </summary>
public static class VarInt
{
    public const ulong MaxValue = (1UL << 62) - 1;

    public static int SizeOf(ulong value) => value switch
    {
        < 1UL << 6 => 1,
        < 1UL << 14 => 2,
        < 1UL << 30 => 4,
        _ => 8,
    };

    /// <summary>Writes <paramref name="value"/>; returns bytes written or 0 when it does not fit.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        int size = SizeOf(value);
        if (value > MaxValue || destination.Length < size)
        {
            return 0;
        }

        switch (size)
        {
            case 1:
                destination[0] = (byte)value;
                break;
            case 2:
                BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(value | 0x4000));
                break;
            case 4:
                BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)value | 0x8000_0000u);
                break;
            default:
                BinaryPrimitives.WriteUInt64BigEndian(destination, value | 0xC000_0000_0000_0000UL);
                break;
        }

        return size;
    }

    /// <summary>Reads a varint; returns bytes consumed or 0 when the input is truncated.</summary>
    public static int Read(ReadOnlySpan<byte> source, out ulong value)
    {
        value = 0;
        if (source.IsEmpty)
        {
            return 0;
        }

        int size = 1 << (source[0] >> 6);
        if (source.Length < size)
        {
            return 0;
        }

        switch (size)
        {
            case 1:
                value = source[0];
                break;
            case 2:
                value = BinaryPrimitives.ReadUInt16BigEndian(source) & 0x3FFFu;
                break;
            case 4:
                value = BinaryPrimitives.ReadUInt32BigEndian(source) & 0x3FFF_FFFFu;
                break;
            default:
                value = BinaryPrimitives.ReadUInt64BigEndian(source) & 0x3FFF_FFFF_FFFF_FFFFUL;
                break;
        }

        return size;
    }
}
