using System.Buffers.Binary;
using System.Text;
using Ferry.Protocol.Common;

namespace Ferry.Protocol.Relay;

public static partial class RelayCodec
{
    /// <summary>POST header: common header, u64 first writer sequence, u16 line count.</summary>
    public const int PostHeaderLength = RelayWire.HeaderLength + 8 + 2;

    /// <summary>DELIVER header: common header, u64 first sequence, u8 flags, u16 count.</summary>
    public const int DeliverHeaderLength = RelayWire.HeaderLength + 8 + 1 + 2;

    /// <summary>DELIVER flag: no entries follow; <c>count</c> sequences from <c>first</c> were removed by retention.</summary>
    public const byte DeliverFlagPruned = 1;

    /// <summary>Starts a POST; returns the position where the first line goes.</summary>
    public static int BeginPost(Span<byte> buffer, ulong session, long firstWriterSeq)
    {
        RelayWire.WriteHeader(buffer, RelayPacketType.Post, session);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[RelayWire.HeaderLength..], (ulong)firstWriterSeq);
        return PostHeaderLength;
    }

    /// <summary>Appends one UTF-8 line if it fits (leaving room for the CRC); advances <paramref name="position"/>.</summary>
    public static bool TryAppendPostLine(Span<byte> buffer, ref int position, ReadOnlySpan<byte> line)
    {
        int limit = Math.Min(buffer.Length, RelayWire.MaxDatagram) - RelayWire.TrailerLength;
        if (position + 2 + line.Length > limit)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(buffer[position..], (ushort)line.Length);
        line.CopyTo(buffer[(position + 2)..]);
        position += 2 + line.Length;
        return true;
    }

    /// <summary>Writes the line count and the CRC; returns the datagram length.</summary>
    public static int FinishPost(Span<byte> buffer, int position, int count)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(RelayWire.HeaderLength + 8)..], (ushort)count);
        return RelayWire.Seal(buffer, position);
    }

    /// <summary>Decodes a POST body; every line must be valid UTF-8 of at most <see cref="RelayWire.MaxTextBytes"/> bytes.</summary>
    public static bool TryReadPost(ReadOnlySpan<byte> body, out long firstWriterSeq, List<string> lines)
    {
        lines.Clear();
        var r = new SpanReader(body);
        if (!r.TryReadSeq(out firstWriterSeq) || !r.TryReadUInt16(out ushort count) || count == 0)
        {
            return false;
        }

        for (int i = 0; i < count; i++)
        {
            if (!r.TryReadPrefixedString(2, RelayWire.MaxTextBytes, out string line))
            {
                lines.Clear();
                return false;
            }

            lines.Add(line);
        }

        return r.Remaining == 0;
    }

    /// <summary>The DELIVER entry of a message: i64 timestamp ms, u8-prefixed author, u16-prefixed text.</summary>
    public static byte[] EncodeEntry(RelayMessage message)
    {
        int authorBytes = Encoding.UTF8.GetByteCount(message.Author);
        int textBytes = Encoding.UTF8.GetByteCount(message.Text);
        if (authorBytes > RelayWire.MaxNameBytes || textBytes > RelayWire.MaxTextBytes)
        {
            // Only reachable through a store that holds rows no POST could have produced.
            throw new ArgumentException($"message #{message.Seq} exceeds the relay limits", nameof(message));
        }

        var entry = new byte[8 + 1 + authorBytes + 2 + textBytes];
        var w = new RelaySpanWriter(entry, 0);
        w.U64((ulong)message.TimestampMs);
        w.String(1, message.Author);
        w.String(2, message.Text);
        return entry;
    }

    /// <summary>The cached DELIVER entry of a message (encoded on first use).</summary>
    public static byte[] EntryOf(RelayMessage message) => message.Entry ??= EncodeEntry(message);

    /// <summary>Starts a DELIVER; returns the position where the first entry goes.</summary>
    public static int BeginDeliver(Span<byte> buffer, ulong session, long firstSeq, byte flags)
    {
        RelayWire.WriteHeader(buffer, RelayPacketType.Deliver, session);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[RelayWire.HeaderLength..], (ulong)firstSeq);
        buffer[RelayWire.HeaderLength + 8] = flags;
        return DeliverHeaderLength;
    }

    /// <summary>True when an entry of <paramref name="entryLength"/> bytes still fits after <paramref name="position"/>.</summary>
    public static bool EntryFits(int position, int entryLength) => EntryFits(position, entryLength, RelayWire.MaxDatagram);

    /// <summary>True when an entry still fits a DELIVER of at most <paramref name="maxDatagram"/> bytes.</summary>
    public static bool EntryFits(int position, int entryLength, int maxDatagram) => position + entryLength + RelayWire.TrailerLength <= maxDatagram;

    public static int FinishDeliver(Span<byte> buffer, int position, int count)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(RelayWire.HeaderLength + 9)..], (ushort)count);
        return RelayWire.Seal(buffer, position);
    }

    /// <summary>Decodes a DELIVER body. For a pruned range <paramref name="messages"/> stays empty and <paramref name="count"/> is the range length.</summary>
    public static bool TryReadDeliver(ReadOnlySpan<byte> body, out long firstSeq, out bool pruned, out int count, List<RelayMessage> messages)
        => TryReadDeliver(body, out firstSeq, out pruned, out count, messages, new RelayNameCache());

    internal static bool TryReadDeliver(ReadOnlySpan<byte> body, out long firstSeq, out bool pruned, out int count, List<RelayMessage> messages, RelayNameCache names)
    {
        messages.Clear();
        pruned = false;
        count = 0;
        var r = new SpanReader(body);
        if (!r.TryReadSeq(out firstSeq) || firstSeq == 0 || !r.TryReadByte(out byte flags) || !r.TryReadUInt16(out ushort n) || n == 0)
        {
            return false;
        }

        count = n;
        if ((flags & DeliverFlagPruned) != 0)
        {
            pruned = true;
            return r.Remaining == 0;
        }

        for (int i = 0; i < n; i++)
        {
            if (!r.TryReadUInt64(out ulong ts) || !r.TryReadByte(out byte authorLength) || authorLength > RelayWire.MaxNameBytes
                || !r.TryReadBytes(authorLength, out var authorBytes) || !names.TryGet(authorBytes, out string author)
                || !r.TryReadPrefixedString(2, RelayWire.MaxTextBytes, out string text))
            {
                messages.Clear();
                return false;
            }

            messages.Add(new RelayMessage(firstSeq + i, (long)ts, author, text));
        }

        return r.Remaining == 0;
    }

    /// <summary>
    /// ACK: u64 next (every sequence below it is received), u32 receive window (sequences the reader can take from next on),
    /// u8 range count, then ranges (u64 start, u32 length) above next, ascending. At most <see cref="RelayWire.MaxAckRanges"/> (the lowest).
    /// </summary>
    public static int WriteAck(Span<byte> buffer, ulong session, long next, uint window, RangeSet above)
    {
        RelayWire.WriteHeader(buffer, RelayPacketType.Ack, session);
        var w = new RelaySpanWriter(buffer, RelayWire.HeaderLength);
        w.U64((ulong)next);
        w.U32(window);
        int n = Math.Min(above.Count, RelayWire.MaxAckRanges);
        w.U8((byte)n);
        for (int i = 0; i < n; i++)
        {
            var range = above[i];
            w.U64((ulong)range.Start);
            w.U32((uint)Math.Min(range.Length, uint.MaxValue));
        }

        return RelayWire.Seal(buffer, w.Position);
    }

    public static bool TryReadAck(ReadOnlySpan<byte> body, out long next, out uint window, List<ByteRange> ranges)
    {
        ranges.Clear();
        window = 0;
        var r = new SpanReader(body);
        if (!r.TryReadSeq(out next) || !r.TryReadUInt32(out window) || !r.TryReadByte(out byte n) || n > RelayWire.MaxAckRanges)
        {
            return false;
        }

        long floor = next;
        for (int i = 0; i < n; i++)
        {
            if (!r.TryReadSeq(out long start) || !r.TryReadUInt32(out uint length) || length == 0 || start <= floor)
            {
                ranges.Clear();
                return false;
            }

            ranges.Add(new ByteRange(start, start + length));
            floor = start + length;
        }

        return r.Remaining == 0;
    }
}
