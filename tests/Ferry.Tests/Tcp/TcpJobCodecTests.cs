using System.Buffers.Binary;
using Ferry.Protocol.Tcp;

namespace Ferry.Tests.Tcp;

/// <summary>The job frames of tcp://: round trips, and malformed payloads refused before anything is allocated.</summary>
public sealed class TcpJobCodecTests
{
    private static readonly TcpJobEntry[] s_entries =
    [
        new(TcpJobEntry.FileType, 0x1A4, 12345, 1_700_000_000_123, "a/b c/ünï #?%.txt"),
        new(TcpJobEntry.FileType, 0x180, 0, -5, "empty"),
        new(TcpJobEntry.DirectoryType, 0x1ED, 0, 42, "a/b c"),
    ];

    private static ReadOnlySpan<byte> Payload(byte[] frame) => frame.AsSpan(TcpWire.FrameHeaderLength);

    [Fact]
    public void Open_Job_RoundTrips_AndNeedsNoPathAndAnEntryCount()
    {
        foreach (var op in new[] { TcpOperation.JobPut, TcpOperation.JobGet })
        {
            var open = new TcpOpenRequest(op, string.Empty, 4, 3, null) { Token = "ferry_x" };
            var frame = new byte[open.FrameLength];
            open.Write(frame);
            Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(Payload(frame), out var back));
            Assert.Equal(op, back.Operation);
            Assert.Equal(3, back.Size);
            Assert.Equal("ferry_x", back.Token);
        }

        Assert.Throws<ArgumentException>(() => new TcpOpenRequest(TcpOperation.JobPut, "x", 1, 1, null).Write(new byte[200]));
        foreach (long count in new long[] { 0, TcpWire.MaxJobEntries + 1L })
        {
            var open = new TcpOpenRequest(TcpOperation.JobGet, string.Empty, 1, count, null);
            var frame = new byte[open.FrameLength];
            open.Write(frame);
            Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Payload(frame), out _));
        }

        // A job with a version, an upload key or a mode is malformed.
        var withMode = new TcpOpenRequest(TcpOperation.JobPut, string.Empty, 1, 1, null);
        var f = new byte[withMode.FrameLength];
        withMode.Write(f);
        f[TcpWire.FrameHeaderLength + 1] = 1;
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Payload(f), out _));
    }

    [Fact]
    public void Entries_RoundTrip_AndSplitIntoFramesOfAtMostOneMiB()
    {
        int next = 0;
        var frame = TcpJobFrames.WriteEntries(s_entries, ref next);
        Assert.Equal(3, next);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(frame, TcpConnectionKind.Control, fromClient: true, out var header));
        Assert.Equal(TcpFrameType.Entries, header.Type);
        var back = new List<TcpJobEntry>();
        Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadEntries(Payload(frame), 3, back));
        Assert.Equal(s_entries, back);

        // 1,000 entries with 2,000-byte paths need two frames, each within bounds.
        var many = Enumerable.Range(0, 1000).Select(i => new TcpJobEntry(1, 0x1A4, i, i, $"{i:D5}" + new string('x', 1995))).ToList();
        next = 0;
        var all = new List<TcpJobEntry>();
        int frames = 0;
        while (next < many.Count)
        {
            var part = TcpJobFrames.WriteEntries(many, ref next);
            Assert.True(part.Length - TcpWire.FrameHeaderLength <= TcpWire.MaxJobFramePayload);
            Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(part, TcpConnectionKind.Control, fromClient: true, out _));
            Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadEntries(Payload(part), many.Count - all.Count, all));
            frames++;
        }

        Assert.Equal(2, frames);
        Assert.Equal(many, all);
    }

    [Fact]
    public void Entries_Malformed_AreRefused_AndLeaveTheListUnchanged()
    {
        int next = 0;
        var good = Payload(TcpJobFrames.WriteEntries(s_entries, ref next)).ToArray();
        var list = new List<TcpJobEntry>();

        // More entries than OPEN announced (remaining), none at all, or a count the payload cannot hold.
        Assert.Equal(TcpDecodeStatus.Malformed, TcpJobFrames.TryReadEntries(good, 2, list));
        Assert.Equal(TcpDecodeStatus.Malformed, Mutate(good, p => BinaryPrimitives.WriteUInt32BigEndian(p, 0), list));
        Assert.Equal(TcpDecodeStatus.Malformed, Mutate(good, p => BinaryPrimitives.WriteUInt32BigEndian(p, uint.MaxValue), list, remaining: int.MaxValue));
        Assert.Equal(TcpDecodeStatus.BadLength, TcpJobFrames.TryReadEntries(good.AsSpan(0, 3), 3, list));

        // First record: type, mode, size, path length, UTF-8.
        Assert.Equal(TcpDecodeStatus.Malformed, Mutate(good, p => p[4] = 3, list));
        Assert.Equal(TcpDecodeStatus.Malformed, Mutate(good, p => BinaryPrimitives.WriteUInt16BigEndian(p[5..], 0x200), list));
        Assert.Equal(TcpDecodeStatus.Malformed, Mutate(good, p => BinaryPrimitives.WriteInt64BigEndian(p[7..], -1), list));
        Assert.Equal(TcpDecodeStatus.Malformed, Mutate(good, p => BinaryPrimitives.WriteUInt16BigEndian(p[23..], 0), list));
        Assert.Equal(TcpDecodeStatus.Malformed, Mutate(good, p => BinaryPrimitives.WriteUInt16BigEndian(p[23..], 60000), list));
        Assert.Equal(TcpDecodeStatus.Malformed, Mutate(good, p => p[25] = 0xFF, list));

        // A directory with a size, trailing bytes, a truncated last record.
        var dir = new[] { new TcpJobEntry(2, 0x1ED, 0, 0, "d") };
        next = 0;
        var d = Payload(TcpJobFrames.WriteEntries(dir, ref next)).ToArray();
        Assert.Equal(TcpDecodeStatus.Malformed, Mutate(d, p => BinaryPrimitives.WriteInt64BigEndian(p[7..], 1), list, remaining: 1));
        Assert.Equal(TcpDecodeStatus.Malformed, TcpJobFrames.TryReadEntries([.. good, 0], 3, list));
        Assert.Equal(TcpDecodeStatus.Malformed, TcpJobFrames.TryReadEntries(good.AsSpan(0, good.Length - 1), 3, list));
        Assert.Empty(list);

        // An entry nobody would accept is refused by the writer.
        next = 0;
        Assert.Throws<ArgumentException>(() => TcpJobFrames.WriteEntries([new TcpJobEntry(1, 0, 0, 0, string.Empty)], ref next));
    }

    [Fact]
    public void Status_RoundTrips_InIndexOrder_AndRefusesGapsAndLongTexts()
    {
        var statuses = new List<TcpEntryStatus>
        {
            new(0, 0, 10, 20, string.Empty),
            new(1, (ushort)TcpErrorCode.Unauthorized, 0, 0, "limited to a prefix"),
            new(2, (ushort)TcpErrorCode.NotFound, 1, 2, new string('é', 2000)),
        };
        int next = 0;
        var frame = TcpJobFrames.WriteStatus(statuses, ref next);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(frame, TcpConnectionKind.Control, fromClient: false, out _));
        var back = new List<TcpEntryStatus>();
        Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadStatus(Payload(frame), 3, back));
        Assert.Equal(statuses.Take(2), back.Take(2));
        Assert.Equal(512, back[2].Text.Length); // cut at 1024 bytes, on a character boundary
        Assert.True(back[0].Accepted);

        var good = Payload(frame).ToArray();
        var list = new List<TcpEntryStatus>();
        Assert.Equal(TcpDecodeStatus.Malformed, TcpJobFrames.TryReadStatus(good, 2, list));                         // more than the entries
        Assert.Equal(TcpDecodeStatus.Malformed, MutateStatus(good, p => BinaryPrimitives.WriteUInt32BigEndian(p[4..], 1), list)); // index gap
        Assert.Equal(TcpDecodeStatus.Malformed, MutateStatus(good, p => BinaryPrimitives.WriteInt64BigEndian(p[10..], -1), list)); // negative size
        Assert.Equal(TcpDecodeStatus.Malformed, MutateStatus(good, p => BinaryPrimitives.WriteUInt16BigEndian(p[26..], 1025), list));
        Assert.Equal(TcpDecodeStatus.Malformed, MutateStatus(good, p => BinaryPrimitives.WriteUInt32BigEndian(p, 1_000_000), list));
        Assert.Empty(list);

        // A second frame continues where the first stopped.
        list.Add(statuses[0]);
        next = 1;
        var rest = TcpJobFrames.WriteStatus(statuses, ref next);
        Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadStatus(Payload(rest), 3, list));
        Assert.Equal(3, list.Count);
    }

    [Fact]
    public void FileHash_AbortAndResult_RoundTrip_AndCheckIndexAndLengths()
    {
        var sha = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var hash = TcpJobFrames.WriteFileHash(7, sha);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(hash, TcpConnectionKind.Control, fromClient: true, out _));
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(hash, TcpConnectionKind.Control, fromClient: false, out _));
        Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadFileHash(Payload(hash), 8, out int index, out var back));
        Assert.Equal(7, index);
        Assert.Equal(sha, back);
        Assert.Equal(TcpDecodeStatus.Malformed, TcpJobFrames.TryReadFileHash(Payload(hash), 7, out _, out _));
        Assert.Equal(TcpDecodeStatus.BadLength, TcpJobFrames.TryReadFileHash(Payload(hash)[..35], 8, out _, out _));

        foreach (var type in new[] { TcpFrameType.FileAbort, TcpFrameType.FileResult })
        {
            var frame = TcpJobFrames.WriteOutcome(type, new TcpFileOutcome(3, (ushort)TcpErrorCode.Io, "vanished"));
            Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(frame, TcpConnectionKind.Control, fromClient: true, out var header));
            Assert.Equal(type, header.Type);
            Assert.Equal(TcpDecodeStatus.Ok, TcpJobFrames.TryReadOutcome(Payload(frame), 4, out var outcome));
            Assert.Equal(new TcpFileOutcome(3, (ushort)TcpErrorCode.Io, "vanished"), outcome);
            Assert.Equal(TcpDecodeStatus.Malformed, TcpJobFrames.TryReadOutcome(Payload(frame), 3, out _));
            Assert.Equal(TcpDecodeStatus.Malformed, TcpJobFrames.TryReadOutcome(Payload(frame)[..^1], 4, out _));
            Assert.Equal(TcpDecodeStatus.BadLength, TcpJobFrames.TryReadOutcome(Payload(frame)[..7], 4, out _));
        }

        // Headers: bounds per type, and direction (STATUS only from the server, ENTRIES only from the client, never on data).
        var h = RawTcpPeer.Header(TcpFrameType.Entries, TcpWire.MaxJobFramePayload + 1);
        Assert.Equal(TcpDecodeStatus.BadLength, TcpFrameHeader.TryRead(h, TcpConnectionKind.Control, fromClient: true, out _));
        Assert.Equal(TcpDecodeStatus.UnexpectedType, TcpFrameHeader.TryRead(RawTcpPeer.Header(TcpFrameType.Entries, 30), TcpConnectionKind.Control, fromClient: false, out _));
        Assert.Equal(TcpDecodeStatus.UnexpectedType, TcpFrameHeader.TryRead(RawTcpPeer.Header(TcpFrameType.Status, 30), TcpConnectionKind.Control, fromClient: true, out _));
        Assert.Equal(TcpDecodeStatus.UnexpectedType, TcpFrameHeader.TryRead(RawTcpPeer.Header(TcpFrameType.FileHash, 36), TcpConnectionKind.Data, fromClient: true, out _));
        Assert.Equal(TcpDecodeStatus.BadLength, TcpFrameHeader.TryRead(RawTcpPeer.Header(TcpFrameType.FileResult, 8 + 1025), TcpConnectionKind.Control, fromClient: true, out _));
    }

    private static TcpDecodeStatus Mutate(byte[] payload, SpanAction change, List<TcpJobEntry> into, int remaining = 3)
    {
        var copy = (byte[])payload.Clone();
        change(copy);
        return TcpJobFrames.TryReadEntries(copy, remaining, into);
    }

    private static TcpDecodeStatus MutateStatus(byte[] payload, SpanAction change, List<TcpEntryStatus> into)
    {
        var copy = (byte[])payload.Clone();
        change(copy);
        return TcpJobFrames.TryReadStatus(copy, 3, into);
    }

    private delegate void SpanAction(Span<byte> payload);
}
