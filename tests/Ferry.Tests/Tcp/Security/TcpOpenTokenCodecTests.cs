using System.Buffers.Binary;
using Ferry.Protocol.Tcp;

namespace Ferry.Tests.Tcp.Security;

/// <summary>The access token field of OPEN (protocol version 2).</summary>
public sealed class TcpOpenTokenCodecTests
{
    [Fact]
    public void Token_RoundTrips_AndAnEmptyOneReadsAsNone()
    {
        var open = new TcpOpenRequest(TcpOperation.Get, "dir/f.bin", 4, 0, null) { Token = "ferry_AbCdEfGhIjKlMnOpQrStUvWxYz012345" };
        var buf = new byte[open.FrameLength];
        Assert.Equal(buf.Length, open.Write(buf));
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Control, true, out var h));
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(buf.AsSpan(5, h.Length), out var back));
        Assert.Equal(open, back);
        Assert.Equal(open.Token, back.Token);

        var none = open with { Token = "" };
        buf = new byte[none.FrameLength];
        none.Write(buf);
        Assert.Equal(TcpWire.FrameHeaderLength + TcpWire.OpenFixedLength + 9 + 2, buf.Length);
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(buf.AsSpan(5), out back));
        Assert.Null(back.Token);
    }

    [Fact]
    public void Token_LongestAllowed_FitsTheHeaderBound_OneMoreIsRefused()
    {
        var open = new TcpOpenRequest(TcpOperation.Put, new string('p', TcpWire.MaxPathBytes), 1, 1, null) { Token = new string('t', TcpWire.MaxTokenBytes) };
        var buf = new byte[open.FrameLength];
        open.Write(buf);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Control, true, out var h));
        Assert.Equal(TcpWire.MaxPayload(TcpFrameType.Open), h.Length);
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(buf.AsSpan(5), out _));

        Assert.Throws<ArgumentException>(() => (open with { Token = new string('t', TcpWire.MaxTokenBytes + 1) }).Write(new byte[8192]));
    }

    [Fact]
    public void Token_BadLengthsAndBadUtf8_AreMalformed()
    {
        var open = new TcpOpenRequest(TcpOperation.Get, "f", 1, 0, null) { Token = "abc" };
        var buf = new byte[open.FrameLength];
        open.Write(buf);
        var payload = buf.AsSpan(5).ToArray();
        int tokenAt = TcpWire.OpenFixedLength + 1;

        byte[] Mutate(Action<byte[]> change)
        {
            var copy = (byte[])payload.Clone();
            change(copy);
            return copy;
        }

        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(tokenAt), 4)), out _));     // past the end
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(tokenAt), 2)), out _));     // trailing byte
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(tokenAt), 0xFFFF)), out _));
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(Mutate(b => b[^1] = 0xC3), out _));                                                    // invalid UTF-8
        Assert.Equal(TcpDecodeStatus.BadLength, TcpOpenRequest.TryRead(payload.AsSpan(0, payload.Length - 5), out _));                                       // token length missing
    }
}
