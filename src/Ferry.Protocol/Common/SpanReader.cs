using System.Buffers.Binary;
using System.Text;

using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Common;

/// <summary>A forward-only reader over a datagram. Every Try* returns false on truncation and never throws.</summary>
public ref struct SpanReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public SpanReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly int Position => _pos;

    public readonly int Remaining => _data.Length - _pos;

    public readonly bool End => _pos >= _data.Length;

    public readonly byte PeekByte() => _data[_pos];

    public bool TryReadByte(out byte value)
    {
        if (_pos >= _data.Length)
        {
            value = 0;
            return false;
        }

        value = _data[_pos++];
        return true;
    }

    public bool TryReadUInt16(out ushort value)
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

    public bool TryReadUInt32(out uint value)
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

    public bool TryReadUInt64(out ulong value)
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

    public bool TryReadVarInt(out ulong value)
    {
        int n = VarInt.Read(_data[_pos..], out value);
        _pos += n;
        return n > 0;
    }

    /// <summary>Reads a varint that must be at most <paramref name="max"/> (lengths, counts, offsets).</summary>
    public bool TryReadVarInt(ulong max, out long value)
    {
        if (!TryReadVarInt(out ulong v) || v > max)
        {
            value = 0;
            return false;
        }

        value = (long)v;
        return true;
    }

    public bool TryReadBytes(int length, out ReadOnlySpan<byte> value)
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

    /// <summary>Reads a varint length then that many bytes of strict UTF-8, the length bounded by <paramref name="maxBytes"/>.</summary>
    public bool TryReadString(int maxBytes, out string value)
    {
        value = string.Empty;
        return TryReadVarInt((ulong)maxBytes, out long len) && TryReadBytes((int)len, out var bytes) && TryDecode(bytes, out value);
    }

    /// <summary>
    /// Like <see cref="TryReadString"/>, but bytes that are not valid UTF-8 are a value, not a malformed input:
    /// <paramref name="value"/> is null then, so the caller can refuse them with a reason. False only when the length is
    /// over <paramref name="maxBytes"/> or the bytes are not there.
    /// </summary>
    public bool TryReadStringOrInvalid(int maxBytes, out string? value)
    {
        value = null;
        if (!TryReadVarInt((ulong)maxBytes, out long len) || !TryReadBytes((int)len, out var bytes))
        {
            return false;
        }

        if (TryDecode(bytes, out var decoded))
        {
            value = decoded;
        }

        return true;
    }

    /// <summary>
    /// Reads a string with a fixed-width big-endian length prefix of <paramref name="prefixBytes"/> (1 or 2) bytes,
    /// then strict UTF-8; the length is bounded by <paramref name="maxBytes"/> before anything is decoded.
    /// </summary>
    public bool TryReadPrefixedString(int prefixBytes, int maxBytes, out string value)
    {
        value = string.Empty;
        int length;
        if (prefixBytes == 1)
        {
            if (!TryReadByte(out byte b))
            {
                return false;
            }

            length = b;
        }
        else if (!TryReadUInt16(out ushort s))
        {
            return false;
        }
        else
        {
            length = s;
        }

        return length <= maxBytes && TryReadBytes(length, out var bytes) && TryDecode(bytes, out value);
    }

    private static bool TryDecode(ReadOnlySpan<byte> bytes, out string value)
    {
        try
        {
            value = s_strictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            value = string.Empty;
            return false;
        }
    }

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
