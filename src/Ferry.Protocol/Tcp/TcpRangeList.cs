using System.Buffers.Binary;
using Ferry.Protocol.Common;

namespace Ferry.Protocol.Tcp;

/// <summary>
/// Encodes the range lists of ACCEPT and HAVE: u32 count, then count x (u64 start, u64 end), sorted,
/// non-empty, non-overlapping, inside the file. A list longer than <see cref="TcpWire.MaxRanges"/> is cut:
/// a range left out is only sent again, which is safe.
/// </summary>
public static class TcpRangeList
{
    /// <summary>How many ranges of <paramref name="ranges"/> are put on the wire.</summary>
    public static int EncodedCount(RangeSet? ranges) => Math.Min(ranges?.Count ?? 0, TcpWire.MaxRanges);

    /// <summary>Encoded length: 4 + 16 per range.</summary>
    public static int EncodedLength(RangeSet? ranges) => 4 + (16 * EncodedCount(ranges));

    /// <summary>Writes count and ranges; returns the bytes written.</summary>
    public static int Write(Span<byte> destination, RangeSet? ranges)
    {
        int count = EncodedCount(ranges);
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)count);
        for (int i = 0; i < count; i++)
        {
            var r = ranges![i];
            BinaryPrimitives.WriteInt64BigEndian(destination[(4 + (16 * i))..], r.Start);
            BinaryPrimitives.WriteInt64BigEndian(destination[(12 + (16 * i))..], r.End);
        }

        return 4 + (16 * count);
    }

    /// <summary>
    /// Parses a list that must fill <paramref name="source"/> exactly; every range must lie in [0, <paramref name="fileSize"/>).
    /// </summary>
    public static TcpDecodeStatus TryRead(ReadOnlySpan<byte> source, long fileSize, out RangeSet ranges)
    {
        ranges = new RangeSet();
        if (source.Length < 4)
        {
            return TcpDecodeStatus.BadLength;
        }

        uint count = BinaryPrimitives.ReadUInt32BigEndian(source);
        if (count > TcpWire.MaxRanges || source.Length != 4 + (16 * (long)count))
        {
            return TcpDecodeStatus.Malformed;
        }

        long previousEnd = 0;
        for (int i = 0; i < (int)count; i++)
        {
            long start = BinaryPrimitives.ReadInt64BigEndian(source[(4 + (16 * i))..]);
            long end = BinaryPrimitives.ReadInt64BigEndian(source[(12 + (16 * i))..]);
            if (start < previousEnd || end <= start || end > fileSize)
            {
                ranges = new RangeSet();
                return TcpDecodeStatus.Malformed;
            }

            ranges.Add(start, end);
            previousEnd = end;
        }

        return TcpDecodeStatus.Ok;
    }
}
