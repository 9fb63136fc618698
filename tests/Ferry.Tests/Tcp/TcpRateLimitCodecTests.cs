using Ferry.Protocol.Common;
using Ferry.Protocol.Tcp;

namespace Ferry.Tests.Tcp;

/// <summary>The rate limit fields of OPEN (flag bit 3) and ACCEPT (after the ranges, only when OPEN had one).</summary>
public class TcpRateLimitCodecTests
{
    private static byte[] Frame(TcpOpenRequest open)
    {
        var buf = new byte[open.FrameLength];
        Assert.Equal(buf.Length, open.Write(buf));
        return buf;
    }

    [Theory]
    [InlineData(TcpOperation.Get, "f", 0L)]
    [InlineData(TcpOperation.Put, "f", 40_000_000L)]
    [InlineData(TcpOperation.JobPut, "", 1_500_000_000L)]
    [InlineData(TcpOperation.JobGet, "", 8_000L)]
    public void Open_carries_the_rate_limit_last_for_every_operation_that_moves_data(TcpOperation op, string path, long rate)
    {
        bool job = op is TcpOperation.JobPut or TcpOperation.JobGet;
        var open = new TcpOpenRequest(op, path, 4, job ? 3 : op == TcpOperation.Put ? 10 : 0, op == TcpOperation.Put ? new TcpFileVersion(10, 5) : null)
        {
            Token = "tok", UploadKey = op == TcpOperation.Put ? new byte[TcpWire.UploadKeyLength] : null, Mode = op == TcpOperation.Put ? 0x1A4 : null,
            RateLimit = rate,
        };
        var buf = Frame(open);

        Assert.Equal(8, buf[5 + 1] & 8);
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(buf.AsSpan(5), out var back));
        Assert.Equal(rate, back.RateLimit);
        Assert.Equal(open.Mode, back.Mode);
        Assert.Equal("tok", back.Token);
        Assert.Equal(TcpDecodeStatus.Ok, TcpOpenRequest.TryRead(Frame(open with { RateLimit = null }).AsSpan(5), out back));
        Assert.Null(back.RateLimit);
    }

    [Fact]
    public void An_open_whose_rate_is_out_of_bounds_or_whose_length_does_not_match_the_flag_is_malformed()
    {
        var open = new TcpOpenRequest(TcpOperation.Get, "f", 1, 0, null) { RateLimit = 1 };
        var buf = Frame(open);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(buf.AsSpan(buf.Length - 8), TcpWire.MaxRateLimit + 1);
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(buf.AsSpan(5), out _));
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(buf.AsSpan(buf.Length - 8), -1);
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(buf.AsSpan(5), out _));

        // The flag without the field (an OPEN cut short), and the field without the flag.
        var cut = Frame(open);
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(cut.AsSpan(5, cut.Length - 5 - 8), out _));
        cut[5 + 1] &= unchecked((byte)~8);
        Assert.Equal(TcpDecodeStatus.Malformed, TcpOpenRequest.TryRead(cut.AsSpan(5), out _));
    }

    [Fact]
    public void Accept_carries_the_limit_in_force_after_the_ranges_only_for_a_client_that_asked()
    {
        var present = new RangeSet();
        present.Add(0, 100);
        present.Add(4096, 8192);
        var id = new TcpSessionId(1, 2);
        var reply = new TcpAcceptReply(id, 1 << 20, 4, 10_000, new TcpFileVersion(10_000, 7), present) { RateLimit = 20_000_000 };
        var buf = new byte[reply.FrameLength];
        reply.Write(buf);

        Assert.Equal(TcpDecodeStatus.Ok, TcpAcceptReply.TryRead(buf.AsSpan(5), withRateLimit: true, out var back));
        Assert.Equal(20_000_000, back!.RateLimit);
        Assert.Equal(2, back.Present.Count);

        // A client that sent no rate limit reads the old layout; the field there is malformed.
        Assert.Equal(TcpDecodeStatus.Malformed, TcpAcceptReply.TryRead(buf.AsSpan(5), out _));

        // An older server's ACCEPT (no field) to a client that asked: read, with no limit known.
        var old = reply with { RateLimit = null };
        var oldBuf = new byte[old.FrameLength];
        old.Write(oldBuf);
        Assert.Equal(TcpDecodeStatus.Ok, TcpAcceptReply.TryRead(oldBuf.AsSpan(5), withRateLimit: true, out back));
        Assert.Null(back!.RateLimit);
        Assert.Equal(2, back.Present.Count);
    }
}
