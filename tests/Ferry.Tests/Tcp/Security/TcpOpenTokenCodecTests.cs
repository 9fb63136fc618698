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
        var open = new TcpOpenRequest(TcpOperation.Put, new string('p', TcpWire.MaxPathBytes), 1, 1, null)
        {
            Token = new string('t', TcpWire.MaxTokenBytes), UploadKey = new byte[TcpWire.UploadKeyLength], Mode = TcpWire.MaxMode,
            RateLimit = TcpWire.MaxRateLimit,
        };
        var buf = new byte[open.FrameLength];
        open.Write(buf);
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(buf, TcpConnectionKind.Control, true, out var h));
        Assert.Equal(TcpWire.MaxPayload(TcpFrameType.Open), h.Length);
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(buf.AsSpan(5), out _));

        Assert.Throws<ArgumentException>(() => (open with { Token = new string('t', TcpWire.MaxTokenBytes + 1) }).Write(new byte[8192]));
    }

    [Fact]
    public void UploadKey_RoundTripsAfterTheToken_OnlyForPut_AndAnOpenWithoutOneIsUnchanged()
    {
        byte[] key = Enumerable.Range(1, TcpWire.UploadKeyLength).Select(i => (byte)i).ToArray();
        var open = new TcpOpenRequest(TcpOperation.Put, "dir/f.bin", 4, 10, new TcpFileVersion(10, 5)) { Token = "abc", UploadKey = key };
        var buf = new byte[open.FrameLength];
        Assert.Equal(buf.Length, open.Write(buf));
        Assert.Equal(0b11, buf[5 + 1]);
        Assert.Equal(key, buf[^TcpWire.UploadKeyLength..]);
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(buf.AsSpan(5), out var back));
        Assert.Equal(key, back.UploadKey);
        Assert.Equal("abc", back.Token);

        // Without a key the frame is the one every earlier version-2 peer reads.
        var without = open with { UploadKey = null };
        Assert.Equal(buf.Length - TcpWire.UploadKeyLength, without.FrameLength);

        // The flag with the key missing, or on a GET, is malformed; a GET never writes one.
        var payload = buf.AsSpan(5).ToArray();
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(payload.AsSpan(0, payload.Length - 1), out _));
        var get = new TcpOpenRequest(TcpOperation.Get, "f", 1, 0, null) { UploadKey = key };
        Assert.Equal(TcpWire.FrameHeaderLength + TcpWire.OpenFixedLength + 1 + 2, get.FrameLength);
        var getPayload = new byte[get.FrameLength];
        get.Write(getPayload);
        getPayload[5 + 1] = 2;
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(getPayload.AsSpan(5), out _));
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
