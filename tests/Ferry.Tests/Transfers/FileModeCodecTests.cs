using Ferry.Protocol.Common;
using Ferry.Protocol.Tcp;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Transfers;

/// <summary>The mode that travels with an upload or MKDIR: udp://'s FILE_MODE frame and tcp://'s OPEN mode field.</summary>
public sealed class FileModeCodecTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(0x1ED)] // 0755
    [InlineData(0x1FF)] // 0777
    public void Udp_file_mode_frame_round_trips(int mode)
    {
        var buffer = new byte[16];
        var w = new SpanWriter(buffer);
        Assert.True(FrameCodec.TryWriteFileMode(ref w, mode));
        var r = new SpanReader(buffer.AsSpan(0, w.Position));
        Assert.True(FrameCodec.TryRead(ref r, new AckRange[4], out var frame));
        Assert.Equal(FrameType.FileMode, frame.Type);
        Assert.Equal(mode, frame.Code);
        Assert.Equal(0, r.Remaining);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0x200)] // sticky
    [InlineData(0xFFF)] // setuid, setgid, sticky
    public void Udp_file_mode_frame_is_not_written_outside_the_permission_bits(int mode)
    {
        var buffer = new byte[16];
        var w = new SpanWriter(buffer);
        Assert.False(FrameCodec.TryWriteFileMode(ref w, mode));
        Assert.Equal(0, w.Position);
    }

    [Theory]
    [InlineData(new byte[] { 0x0E })]                   // no value
    [InlineData(new byte[] { 0x0E, 0x42, 0x00 })]       // 0x200: sticky
    [InlineData(new byte[] { 0x0E, 0x4F, 0xFF })]       // 0xFFF
    [InlineData(new byte[] { 0x0E, 0x41 })]             // truncated varint
    public void Udp_malformed_file_mode_frames_are_refused(byte[] bytes)
    {
        var r = new SpanReader(bytes);
        Assert.False(FrameCodec.TryRead(ref r, new AckRange[4], out _));
    }

    [Theory]
    [InlineData(TcpOperation.Put, true, 0x1A4)]
    [InlineData(TcpOperation.Put, false, 0)]
    [InlineData(TcpOperation.MakeDirectory, false, 0x1FF)]
    public void Tcp_open_with_a_mode_round_trips(TcpOperation op, bool withKey, int mode)
    {
        long size = op == TcpOperation.Put ? 1234 : 0;
        byte[]? key = withKey ? Enumerable.Range(1, TcpWire.UploadKeyLength).Select(i => (byte)i).ToArray() : null;
        var open = new TcpOpenRequest(op, "dir/x", 2, size, new TcpFileVersion(size, 1_700_000_000_123)) { Token = "t", UploadKey = key, Mode = mode };
        var frame = new byte[open.FrameLength];
        Assert.Equal(frame.Length, open.Write(frame));
        Assert.Equal(4, frame[TcpWire.FrameHeaderLength + 1] & 4);

        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(frame.AsSpan(TcpWire.FrameHeaderLength), out var back));
        Assert.Equal(op, back.Operation);
        Assert.Equal(mode, back.Mode);
        Assert.Equal(key, back.UploadKey);
        Assert.Equal(1_700_000_000_123, back.Source!.Value.MtimeUnixMs);
    }

    [Fact]
    public void Tcp_open_without_a_mode_has_no_flag_and_reads_back_none()
    {
        var open = new TcpOpenRequest(TcpOperation.Put, "x", 1, 5, new TcpFileVersion(5, 7));
        var frame = new byte[open.FrameLength];
        open.Write(frame);
        Assert.Equal(0, frame[TcpWire.FrameHeaderLength + 1] & 4);
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(frame.AsSpan(TcpWire.FrameHeaderLength), out var back));
        Assert.Null(back.Mode);
    }

    /// <summary>Encodes a PUT or MKDIR with a mode, then breaks it in one way.</summary>
    public static TheoryData<string> MalformedOpens() => new() { "mode past 0777", "mode flag on a GET", "mode flag without its two bytes", "MKDIR with a size", "MKDIR with an upload key", "unknown flag bit 3" };

    [Theory]
    [MemberData(nameof(MalformedOpens))]
    public void Tcp_malformed_opens_with_a_mode_are_refused(string how)
    {
        var op = how.StartsWith("MKDIR", StringComparison.Ordinal) ? TcpOperation.MakeDirectory : TcpOperation.Put;
        var open = new TcpOpenRequest(op, "x", 1, 0, new TcpFileVersion(0, 7)) { Mode = 0x1ED };
        var frame = new byte[open.FrameLength + TcpWire.UploadKeyLength];
        int length = open.Write(frame);
        var payload = frame.AsSpan(TcpWire.FrameHeaderLength, length - TcpWire.FrameHeaderLength);
        switch (how)
        {
            case "mode past 0777":
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(payload[^2..], 0x800); // setuid
                break;
            case "mode flag on a GET":
                payload[0] = (byte)TcpOperation.Get;
                payload[1] = 4;
                break;
            case "mode flag without its two bytes":
                payload = payload[..^2];
                break;
            case "MKDIR with a size":
                System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(payload[6..], 1);
                break;
            case "MKDIR with an upload key":
                payload[1] |= 2;
                payload = frame.AsSpan(TcpWire.FrameHeaderLength, length - TcpWire.FrameHeaderLength + TcpWire.UploadKeyLength);
                break;
            case "unknown flag bit 3":
                payload[1] |= 8;
                break;
        }

        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(payload, out _));
    }
}
