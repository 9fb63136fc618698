using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

public sealed class TftpNegotiationTests
{
    private static TftpRequest Request(TftpOpcode opcode, params (string Name, string Value)[] options) =>
        new(opcode, "f", TftpMode.Octet, options.Select(o => new TftpOption(o.Name, o.Value)).ToList());

    [Fact]
    public void Unknown_options_are_ignored_and_left_out_of_the_oack()
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Rrq, ("multicast", ""), ("rollover", "0"), ("blksize", "1428"), ("utimeout", "5000")), new TftpServerPolicy(), 100);
        Assert.False(n.Refused);
        Assert.Equal(new TftpOption("blksize", "1428"), Assert.Single(n.Oack));
        Assert.Equal(1428, n.Parameters.BlockSize);
    }

    [Fact]
    public void No_known_options_means_no_oack_and_rfc1350_defaults()
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Rrq, ("foo", "bar")), new TftpServerPolicy(), 100);
        Assert.Empty(n.Oack);
        Assert.Equal(TftpTransferParameters.Default, n.Parameters);
    }

    [Theory]
    [InlineData("7", null)]          // below RFC 2348's minimum: ignored
    [InlineData("0", null)]
    [InlineData("abc", null)]
    [InlineData("-5", null)]
    [InlineData("8", 8)]
    [InlineData("65464", 65464)]
    [InlineData("65465", 65464)]     // above the maximum: the server answers with its maximum
    [InlineData("99999999999", 65464)]
    public void Blksize_out_of_range(string requested, int? granted)
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Rrq, ("blksize", requested)), new TftpServerPolicy(), 100);
        if (granted is null)
        {
            Assert.Empty(n.Oack);
            Assert.Equal(512, n.Parameters.BlockSize);
        }
        else
        {
            Assert.Equal(new TftpOption("blksize", granted.ToString()!), Assert.Single(n.Oack));
            Assert.Equal(granted, n.Parameters.BlockSize);
        }
    }

    [Fact]
    public void Blksize_is_capped_by_policy()
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Rrq, ("BlkSize", "9000")), new TftpServerPolicy { MaxBlockSize = 1468 }, 100);
        Assert.Equal(1468, n.Parameters.BlockSize);
        Assert.Equal("1468", n.Oack[0].Value);
    }

    [Theory]
    [InlineData("0", null)]
    [InlineData("65536", null)]
    [InlineData("1", 1)]
    [InlineData("16", 16)]
    [InlineData("64", 64)]
    [InlineData("65535", 64)]   // clamped to the server's amplification bound
    public void Windowsize_negotiation(string requested, int? granted)
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Rrq, ("windowsize", requested)), new TftpServerPolicy(), 100);
        Assert.Equal(granted ?? 1, n.Parameters.WindowSize);
        Assert.Equal(granted is null ? 0 : 1, n.Oack.Count);
    }

    [Theory]
    [InlineData("0", null)]
    [InlineData("256", null)]
    [InlineData("1", 1)]
    [InlineData("10", 10)]
    [InlineData("11", null)]   // above the server's MaxTimeoutSeconds (10): a silent client would hold its session too long
    [InlineData("255", null)]
    public void Timeout_is_echoed_or_ignored(string requested, int? granted)
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Rrq, ("timeout", requested)), new TftpServerPolicy(), 100);
        Assert.Equal((granted ?? 5) * 1_000_000L, n.Parameters.TimeoutMicros);
        Assert.Equal(granted is null ? 0 : 1, n.Oack.Count);
    }

    [Fact]
    public void A_server_may_allow_the_whole_range_of_rfc_2349()
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Wrq, ("timeout", "255")), new TftpServerPolicy { MaxTimeoutSeconds = 255 }, null);
        Assert.Equal(255_000_000L, n.Parameters.TimeoutMicros);
        Assert.Equal(new TftpOption("timeout", "255"), Assert.Single(n.Oack));
    }

    [Fact]
    public void Tsize_on_read_reports_the_file_size_or_is_left_out()
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Rrq, ("tsize", "0")), new TftpServerPolicy(), 123456);
        Assert.Equal(new TftpOption("tsize", "123456"), Assert.Single(n.Oack));
        Assert.Equal(123456, n.Parameters.TransferSize);

        n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Rrq, ("tsize", "0")), new TftpServerPolicy(), null);
        Assert.Empty(n.Oack);
    }

    [Fact]
    public void Tsize_on_write_is_echoed_and_bounded()
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Wrq, ("tsize", "5000000")), new TftpServerPolicy(), null);
        Assert.Equal(new TftpOption("tsize", "5000000"), Assert.Single(n.Oack));
        Assert.Equal(5000000, n.Parameters.TransferSize);

        n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Wrq, ("tsize", "5000000")), new TftpServerPolicy { MaxWriteSize = 1000 }, null);
        Assert.True(n.Refused);
        Assert.Equal(TftpErrorCode.DiskFull, n.RefusalCode);
    }

    [Fact]
    public void Repeated_option_first_one_counts()
    {
        var n = TftpNegotiation.NegotiateServer(Request(TftpOpcode.Rrq, ("blksize", "1000"), ("BLKSIZE", "2000")), new TftpServerPolicy(), 1);
        Assert.Equal(1000, n.Parameters.BlockSize);
        Assert.Single(n.Oack);
    }

    [Fact]
    public void Client_accepts_a_smaller_grant_and_keeps_defaults_for_missing_options()
    {
        var requested = TftpNegotiation.ClientOptions(1428, 16, null, 0);
        Assert.True(TftpNegotiation.TryAcceptOack(requested, new[] { new TftpOption("BLKSIZE", "1024"), new TftpOption("tsize", "77") }, true, 3_000_000, out var p, out _));
        Assert.Equal(new TftpTransferParameters(1024, 1, 3_000_000, 77), p);
    }

    [Theory]
    [InlineData("blksize", "1429")]     // larger than asked
    [InlineData("blksize", "7")]
    [InlineData("windowsize", "17")]
    [InlineData("windowsize", "0")]
    [InlineData("blksize", "x")]
    [InlineData("multicast", "1")]      // not asked for
    public void Client_refuses_a_bad_oack(string name, string value)
    {
        var requested = TftpNegotiation.ClientOptions(1428, 16, null, 0);
        Assert.False(TftpNegotiation.TryAcceptOack(requested, new[] { new TftpOption(name, value) }, true, 5_000_000, out _, out string? error));
        Assert.NotNull(error);
    }
}
