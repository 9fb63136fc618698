using System.Buffers.Binary;
using Ferry.Protocol.Common;
using Ferry.Protocol.Tcp;

namespace Ferry.Tests.Tcp;

public sealed class TcpCodecTests
{
    [Fact]
    public void Preamble_RoundTrips_AndRejectsGarbageAndOtherVersions()
    {
        var buf = new byte[TcpWire.PreambleLength];
        TcpPreamble.Write(buf, TcpConnectionKind.Data);
        Assert.Equal(TcpDecodeStatus.Ok, TcpPreamble.TryRead(buf, out var p));
        Assert.Equal(TcpConnectionKind.Data, p.Kind);

        Assert.Equal(TcpDecodeStatus.BadMagic, TcpPreamble.TryRead("GET / HT"u8, out _));
        Assert.Equal(TcpDecodeStatus.BadMagic, TcpPreamble.TryRead(buf.AsSpan(0, 4), out _));

        buf[4] = TcpWire.Version + 1;
        Assert.Equal(TcpDecodeStatus.UnsupportedVersion, TcpPreamble.TryRead(buf, out p));
        Assert.Equal(TcpWire.Version + 1, p.Version);
        buf[4] = 1;     // the version before tokens and TLS
        Assert.Equal(TcpDecodeStatus.UnsupportedVersion, TcpPreamble.TryRead(buf, out _));

        TcpPreamble.Write(buf, TcpConnectionKind.Control);
        buf[5] = 9;
        Assert.Equal(TcpDecodeStatus.BadPreamble, TcpPreamble.TryRead(buf, out _));
        TcpPreamble.Write(buf, TcpConnectionKind.Control);
        buf[7] = 1;
        Assert.Equal(TcpDecodeStatus.BadPreamble, TcpPreamble.TryRead(buf, out _));
    }

    [Fact]
    public void Header_RejectsHugeLengths_BeforeAnyAllocation()
    {
        var h = new byte[5];
        h[0] = (byte)TcpFrameType.Open;
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(1), uint.MaxValue);
        Assert.Equal(TcpDecodeStatus.BadLength, TcpFrameHeader.TryRead(h, TcpConnectionKind.Control, fromClient: true, out _));

        // 0x8000_0000 would be negative as an int: must not wrap into a "small" length.
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(1), 0x8000_0000);
        Assert.Equal(TcpDecodeStatus.BadLength, TcpFrameHeader.TryRead(h, TcpConnectionKind.Control, fromClient: true, out _));

        h[0] = (byte)TcpFrameType.Data;
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(1), TcpWire.MaxBlockSize + 9);
        Assert.Equal(TcpDecodeStatus.BadLength, TcpFrameHeader.TryRead(h, TcpConnectionKind.Data, fromClient: true, out _));
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(1), TcpWire.MaxBlockSize + 8);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(h, TcpConnectionKind.Data, fromClient: true, out var ok));
        Assert.Equal(TcpWire.MaxBlockSize + 8, ok.Length);

        // A DONE frame has no payload; one claiming a payload is refused.
        h[0] = (byte)TcpFrameType.Done;
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(1), 1);
        Assert.Equal(TcpDecodeStatus.BadLength, TcpFrameHeader.TryRead(h, TcpConnectionKind.Control, fromClient: true, out _));
    }

    [Theory]
    [InlineData(TcpFrameType.Open, TcpConnectionKind.Control, true, true)]
    [InlineData(TcpFrameType.Open, TcpConnectionKind.Control, false, false)]
    [InlineData(TcpFrameType.Open, TcpConnectionKind.Data, true, false)]
    [InlineData(TcpFrameType.Accept, TcpConnectionKind.Control, false, true)]
    [InlineData(TcpFrameType.Accept, TcpConnectionKind.Control, true, false)]
    [InlineData(TcpFrameType.Join, TcpConnectionKind.Data, true, true)]
    [InlineData(TcpFrameType.Join, TcpConnectionKind.Control, true, false)]
    [InlineData(TcpFrameType.Data, TcpConnectionKind.Control, true, false)]
    [InlineData(TcpFrameType.Error, TcpConnectionKind.Data, false, true)]
    [InlineData((TcpFrameType)0x42, TcpConnectionKind.Control, true, false)]
    public void Header_EnforcesWhichTypesTravelWhere(TcpFrameType type, TcpConnectionKind kind, bool fromClient, bool allowed)
    {
        Assert.Equal(allowed, TcpFrameHeader.IsAllowed(type, kind, fromClient));
        var h = new byte[5];
        h[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(1), (uint)Math.Max(0, Math.Min(TcpWire.MinPayload(type), 100)));
        var status = TcpFrameHeader.TryRead(h, kind, fromClient, out _);
        Assert.Equal(allowed, status == TcpDecodeStatus.Ok);
    }

    [Fact]
    public void Open_RoundTrips_PutWithVersion_AndGet()
    {
        var put = new TcpOpenRequest(TcpOperation.Put, "dir/ünïcode file.bin", 64, 123456789, new TcpFileVersion(123456789, 1_700_000_000_123));
        var buf = new byte[put.FrameLength];
        Assert.Equal(buf.Length, put.Write(buf));
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Control, true, out var h));
        Assert.Equal(TcpFrameType.Open, h.Type);
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(buf.AsSpan(5, h.Length), out var back));
        Assert.Equal(put, back);

        var get = new TcpOpenRequest(TcpOperation.Get, "a", 100_000, 0, null);
        buf = new byte[get.FrameLength];
        get.Write(buf);
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(buf.AsSpan(5), out back));
        Assert.Equal(get, back);
        Assert.Equal(100_000u, back.RequestedStreams);
    }

    [Fact]
    public void Open_RejectsInconsistentFields()
    {
        var open = new TcpOpenRequest(TcpOperation.Put, "file", 4, 10, null);
        var buf = new byte[open.FrameLength];
        open.Write(buf);
        byte[] Mutate(Action<byte[]> change)
        {
            var copy = (byte[])buf.Clone();
            change(copy);
            return copy;
        }

        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => b[5] = 3).AsSpan(5), out _));          // op
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => b[6] = 2).AsSpan(5), out _));          // flags
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(7), 0)).AsSpan(5), out _)); // 0 streams
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => b[11] = 0x80).AsSpan(5), out _));      // negative size
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(35), 5)).AsSpan(5), out _)); // path length past end
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => b[^3] = 0xFF).AsSpan(5), out _));      // invalid UTF-8 (path's last byte; an empty token's u16 length follows)
        Assert.Equal(TcpDecodeStatus.BadLength, TcpOpenRequest.TryRead(buf.AsSpan(5, 10), out _));
    }

    [Fact]
    public void Accept_RoundTrips_WithRanges()
    {
        var present = new RangeSet();
        present.Add(0, 4096);
        present.Add(8192, 10000);
        var accept = new TcpAcceptReply(new TcpSessionId(0x0102030405060708, 0xF1F2F3F4F5F6F7F8), 1 << 22, 8, 10000, new TcpFileVersion(10000, 42), present);
        var buf = new byte[accept.FrameLength];
        Assert.Equal(buf.Length, accept.Write(buf));
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Control, false, out var h));
        Assert.Equal(TcpDecodeStatus.Ok, TcpAcceptReply.TryRead(buf.AsSpan(5, h.Length), out var back));
        Assert.NotNull(back);
        Assert.Equal(accept.SessionId, back.SessionId);
        Assert.Equal(1 << 22, back.BlockSize);
        Assert.Equal(8u, back.GrantedStreams);
        Assert.Equal(10000, back.FileSize);
        Assert.Equal(new TcpFileVersion(10000, 42), back.Version);
        Assert.Equal("[0,4096),[8192,10000)", back.Present.ToString());
    }

    [Fact]
    public void Accept_RejectsBadBlockSizeAndBadRanges()
    {
        var present = new RangeSet();
        present.Add(0, 10);
        var accept = new TcpAcceptReply(default, 4096, 1, 100, default, present);
        var buf = new byte[accept.FrameLength];
        accept.Write(buf);

        var badBlock = (byte[])buf.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(badBlock.AsSpan(5 + 16), 5000);   // not a power of two
        Assert.Equal(TcpDecodeStatus.Malformed, TcpAcceptReply.TryRead(badBlock.AsSpan(5), out _));

        var beyondEnd = (byte[])buf.Clone();
        BinaryPrimitives.WriteInt64BigEndian(beyondEnd.AsSpan(5 + 52 + 8), 101);  // range end past the file
        Assert.Equal(TcpDecodeStatus.Malformed, TcpAcceptReply.TryRead(beyondEnd.AsSpan(5), out _));

        var hugeCount = (byte[])buf.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(hugeCount.AsSpan(5 + 48), uint.MaxValue);
        Assert.Equal(TcpDecodeStatus.Malformed, TcpAcceptReply.TryRead(hugeCount.AsSpan(5), out _));
    }

    [Fact]
    public void RangeList_RejectsUnsortedOverlappingAndEmptyRanges_AndCutsLongLists()
    {
        static byte[] Encode(params (long S, long E)[] ranges)
        {
            var b = new byte[4 + (16 * ranges.Length)];
            BinaryPrimitives.WriteUInt32BigEndian(b, (uint)ranges.Length);
            for (int i = 0; i < ranges.Length; i++)
            {
                BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(4 + (16 * i)), ranges[i].S);
                BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(12 + (16 * i)), ranges[i].E);
            }

            return b;
        }

        Assert.Equal(TcpDecodeStatus.Ok, TcpRangeList.TryRead(Encode((0, 5), (5, 9)), 10, out var ok));
        Assert.Equal("[0,9)", ok.ToString());
        Assert.Equal(TcpDecodeStatus.Malformed, TcpRangeList.TryRead(Encode((5, 9), (0, 5)), 10, out _));
        Assert.Equal(TcpDecodeStatus.Malformed, TcpRangeList.TryRead(Encode((0, 6), (5, 9)), 10, out _));
        Assert.Equal(TcpDecodeStatus.Malformed, TcpRangeList.TryRead(Encode((3, 3)), 10, out _));
        Assert.Equal(TcpDecodeStatus.Malformed, TcpRangeList.TryRead(Encode((-1, 3)), 10, out _));

        var many = new RangeSet();
        for (int i = 0; i < TcpWire.MaxRanges + 10; i++)
        {
            many.Add(i * 2L, (i * 2L) + 1);
        }

        Assert.Equal(TcpWire.MaxRanges, TcpRangeList.EncodedCount(many));
        var buf = new byte[TcpSmallFrames.HaveFrameLength(many)];
        Assert.Equal(buf.Length, TcpSmallFrames.WriteHave(buf, many));
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Control, true, out var h));
        Assert.Equal(TcpDecodeStatus.Ok, TcpRangeList.TryRead(buf.AsSpan(5, h.Length), long.MaxValue / 4, out var back));
        Assert.Equal(TcpWire.MaxRanges, back.Count);
    }

    [Fact]
    public void Error_RoundTrips_AndCutsLongMessagesOnACharacterBoundary()
    {
        var buf = new byte[TcpErrorFrame.MaxFrameLength];
        int n = new TcpErrorFrame(TcpErrorCode.Busy, "busy: udp 127.0.0.1:5555").Write(buf);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Data, false, out var h));
        Assert.Equal(n - 5, h.Length);
        Assert.Equal(TcpDecodeStatus.Ok, TcpErrorFrame.TryRead(buf.AsSpan(5, h.Length), out var e));
        Assert.Equal(TcpErrorCode.Busy, e.Code);
        Assert.Equal("busy: udp 127.0.0.1:5555", e.Message);

        string longText = new('é', 2000);   // 2 bytes each: must be cut to 512 characters
        n = new TcpErrorFrame(TcpErrorCode.Io, longText).Write(buf);
        Assert.Equal(TcpErrorFrame.MaxFrameLength, n);
        Assert.Equal(TcpDecodeStatus.Ok, TcpErrorFrame.TryRead(buf.AsSpan(5, n - 5), out e));
        Assert.Equal(new string('é', 512), e.Message);

        BinaryPrimitives.WriteUInt16BigEndian(buf.AsSpan(7), 1025);
        Assert.Equal(TcpDecodeStatus.Malformed, TcpErrorFrame.TryRead(buf.AsSpan(5, n - 5), out _));
    }

    [Fact]
    public void JoinAckAndData_RoundTrip_WithWideStreamIndexes()
    {
        var buf = new byte[64];
        var id = new TcpSessionId(ulong.MaxValue, 1);
        int n = TcpSmallFrames.WriteJoin(buf, id, 70_000);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Data, true, out var h));
        Assert.Equal(n - 5, h.Length);
        Assert.Equal(TcpDecodeStatus.Ok, TcpSmallFrames.TryReadJoin(buf.AsSpan(5, h.Length), out var id2, out uint stream));
        Assert.Equal(id, id2);
        Assert.Equal(70_000u, stream);

        n = TcpSmallFrames.WriteAck(buf, 1L << 40, 4 << 20);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Data, false, out h));
        Assert.Equal(TcpDecodeStatus.Ok, TcpSmallFrames.TryReadAck(buf.AsSpan(5, h.Length), out long off, out int len));
        Assert.Equal((1L << 40, 4 << 20), (off, len));

        n = TcpSmallFrames.WriteDataHeader(buf, 12345, 777);
        Assert.Equal(TcpWire.DataFrameOverhead, n);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Data, false, out h));
        Assert.Equal(8 + 777, h.Length);
        Assert.Equal(12345, TcpSmallFrames.ReadDataOffset(buf.AsSpan(5)));
    }

    [Theory]
    [InlineData(0, 4096, 10000, true)]
    [InlineData(4096, 4096, 10000, true)]
    [InlineData(8192, 1808, 10000, true)]     // last partial block
    [InlineData(8192, 1809, 10000, false)]    // past end of file
    [InlineData(100, 4096, 10000, false)]     // crosses a block boundary
    [InlineData(0, 0, 10000, false)]
    [InlineData(-1, 10, 10000, false)]
    [InlineData(long.MaxValue - 5, 10, long.MaxValue / 2, false)]   // overflow must not wrap
    public void DataRange_MustStayInsideOneBlockAndTheFile(long offset, long length, long size, bool valid)
    {
        Assert.Equal(valid, TcpSmallFrames.IsValidDataRange(offset, length, size, 4096));
    }
}
