using System.Buffers.Binary;

namespace Ferry.Protocol.Tcp;

/// <summary>
/// Writers and readers of the fixed-size frames: HAVE header, HASH, DONE, JOIN, JOINED, DATA header, ACK.
/// All integers big-endian. Readers take the payload whose length the header check already bounded.
/// </summary>
public static class TcpSmallFrames
{
    /// <summary>Length of a JOIN frame.</summary>
    public const int JoinFrameLength = TcpWire.FrameHeaderLength + TcpWire.SessionIdLength + 4;

    /// <summary>Length of a JOINED frame.</summary>
    public const int JoinedFrameLength = TcpWire.FrameHeaderLength + 4;

    /// <summary>Length of an ACK frame.</summary>
    public const int AckFrameLength = TcpWire.FrameHeaderLength + 12;

    /// <summary>Length of a HASH frame.</summary>
    public const int HashFrameLength = TcpWire.FrameHeaderLength + TcpWire.HashLength;

    /// <summary>Length of a DONE frame.</summary>
    public const int DoneFrameLength = TcpWire.FrameHeaderLength;

    public static int WriteJoin(Span<byte> destination, TcpSessionId session, uint stream)
    {
        TcpFrameHeader.Write(destination, TcpFrameType.Join, TcpWire.SessionIdLength + 4);
        session.Write(destination[5..]);
        BinaryPrimitives.WriteUInt32BigEndian(destination[21..], stream);
        return JoinFrameLength;
    }

    public static TcpDecodeStatus TryReadJoin(ReadOnlySpan<byte> payload, out TcpSessionId session, out uint stream)
    {
        session = default;
        stream = 0;
        if (payload.Length != TcpWire.SessionIdLength + 4)
        {
            return TcpDecodeStatus.BadLength;
        }

        session = TcpSessionId.Read(payload);
        stream = BinaryPrimitives.ReadUInt32BigEndian(payload[16..]);
        return TcpDecodeStatus.Ok;
    }

    public static int WriteJoined(Span<byte> destination, uint stream)
    {
        TcpFrameHeader.Write(destination, TcpFrameType.Joined, 4);
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], stream);
        return JoinedFrameLength;
    }

    public static TcpDecodeStatus TryReadJoined(ReadOnlySpan<byte> payload, out uint stream)
    {
        stream = 0;
        if (payload.Length != 4)
        {
            return TcpDecodeStatus.BadLength;
        }

        stream = BinaryPrimitives.ReadUInt32BigEndian(payload);
        return TcpDecodeStatus.Ok;
    }

    /// <summary>Writes a DATA header (frame header and offset) announcing <paramref name="length"/> file bytes.</summary>
    public static int WriteDataHeader(Span<byte> destination, long offset, int length)
    {
        TcpFrameHeader.Write(destination, TcpFrameType.Data, TcpWire.DataPrefixLength + length);
        BinaryPrimitives.WriteInt64BigEndian(destination[5..], offset);
        return TcpWire.DataFrameOverhead;
    }

    /// <summary>Reads the offset that starts a DATA payload.</summary>
    public static long ReadDataOffset(ReadOnlySpan<byte> prefix) => BinaryPrimitives.ReadInt64BigEndian(prefix);

    /// <summary>
    /// Checks a DATA range against the session: inside the file, non-empty, and within one aligned block
    /// (so a frame is never longer than a block and a receiver's buffer bound holds).
    /// </summary>
    public static bool IsValidDataRange(long offset, long length, long fileSize, int blockSize)
    {
        if (offset < 0 || length <= 0 || length > blockSize || offset > fileSize - length)
        {
            return false;
        }

        return offset / blockSize == (offset + length - 1) / blockSize;
    }

    public static int WriteAck(Span<byte> destination, long offset, int length)
    {
        TcpFrameHeader.Write(destination, TcpFrameType.Ack, 12);
        BinaryPrimitives.WriteInt64BigEndian(destination[5..], offset);
        BinaryPrimitives.WriteUInt32BigEndian(destination[13..], (uint)length);
        return AckFrameLength;
    }

    public static TcpDecodeStatus TryReadAck(ReadOnlySpan<byte> payload, out long offset, out int length)
    {
        offset = 0;
        length = 0;
        if (payload.Length != 12)
        {
            return TcpDecodeStatus.BadLength;
        }

        offset = BinaryPrimitives.ReadInt64BigEndian(payload);
        uint len = BinaryPrimitives.ReadUInt32BigEndian(payload[8..]);
        if (offset < 0 || len == 0 || len > TcpWire.MaxBlockSize)
        {
            return TcpDecodeStatus.Malformed;
        }

        length = (int)len;
        return TcpDecodeStatus.Ok;
    }

    public static int WriteHash(Span<byte> destination, ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != TcpWire.HashLength)
        {
            throw new ArgumentException("SHA-256 digest must be 32 bytes", nameof(sha256));
        }

        TcpFrameHeader.Write(destination, TcpFrameType.Hash, TcpWire.HashLength);
        sha256.CopyTo(destination[5..]);
        return HashFrameLength;
    }

    public static int WriteDone(Span<byte> destination)
    {
        TcpFrameHeader.Write(destination, TcpFrameType.Done, 0);
        return DoneFrameLength;
    }

    /// <summary>Writes a HAVE frame (header and range list).</summary>
    public static int WriteHave(Span<byte> destination, Common.RangeSet? ranges)
    {
        int payload = TcpRangeList.EncodedLength(ranges);
        TcpFrameHeader.Write(destination, TcpFrameType.Have, payload);
        TcpRangeList.Write(destination[5..], ranges);
        return TcpWire.FrameHeaderLength + payload;
    }

    /// <summary>Length of the HAVE frame <see cref="WriteHave"/> produces.</summary>
    public static int HaveFrameLength(Common.RangeSet? ranges) => TcpWire.FrameHeaderLength + TcpRangeList.EncodedLength(ranges);
}
