using System.Buffers.Binary;

namespace Ferry.Protocol.Relay;

/// <summary>Bounds-checked big-endian reader over a datagram body; every read fails softly instead of throwing.</summary>
internal ref struct RelaySpanReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public RelaySpanReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly int Remaining => _data.Length - _pos;

    public bool TryU8(out byte value)
    {
        if (Remaining < 1)
        {
            value = 0;
            return false;
        }

        value = _data[_pos++];
        return true;
    }

    public bool TryU16(out ushort value)
    {
        if (Remaining < 2)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt16BigEndian(_data[_pos..]);
        _pos += 2;
        return true;
    }

    public bool TryU32(out uint value)
    {
        if (Remaining < 4)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt32BigEndian(_data[_pos..]);
        _pos += 4;
        return true;
    }

    public bool TryU64(out ulong value)
    {
        if (Remaining < 8)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt64BigEndian(_data[_pos..]);
        _pos += 8;
        return true;
    }

    /// <summary>A sequence number: a u64 that must fit a non-negative long.</summary>
    public bool TrySeq(out long value)
    {
        value = 0;
        if (!TryU64(out ulong raw) || raw > long.MaxValue / 2)
        {
            return false;
        }

        value = (long)raw;
        return true;
    }

    public bool TryBytes(int length, out ReadOnlySpan<byte> value)
    {
        if (length < 0 || Remaining < length)
        {
            value = default;
            return false;
        }

        value = _data.Slice(_pos, length);
        _pos += length;
        return true;
    }

    /// <summary>A length-prefixed UTF-8 string, validated strictly and bounded by <paramref name="maxBytes"/> before decoding.</summary>
    public bool TryString(int prefixBytes, int maxBytes, out string value)
    {
        value = string.Empty;
        uint length;
        if (prefixBytes == 1)
        {
            if (!TryU8(out byte b))
            {
                return false;
            }

            length = b;
        }
        else
        {
            if (!TryU16(out ushort s))
            {
                return false;
            }

            length = s;
        }

        if (length > (uint)maxBytes || !TryBytes((int)length, out var bytes))
        {
            return false;
        }

        try
        {
            value = length == 0 ? string.Empty : RelayWire.StrictUtf8.GetString(bytes);
            return true;
        }
        catch (System.Text.DecoderFallbackException)
        {
            return false;
        }
    }
}
