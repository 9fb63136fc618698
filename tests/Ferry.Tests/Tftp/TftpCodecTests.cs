using System.Text;
using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

public sealed class TftpCodecTests
{
    private static byte[] Bytes(params object[] parts)
    {
        var ms = new MemoryStream();
        foreach (var p in parts)
        {
            switch (p)
            {
                case int i:
                    ms.WriteByte((byte)(i >> 8));
                    ms.WriteByte((byte)i);
                    break;
                case string s:
                    ms.Write(Encoding.ASCII.GetBytes(s));
                    break;
                case byte[] b:
                    ms.Write(b);
                    break;
            }
        }

        return ms.ToArray();
    }

    [Fact]
    public void Request_round_trips_with_options_in_order()
    {
        var buffer = new byte[TftpLimits.MaxPacketLength];
        var options = TftpNegotiation.ClientOptions(1428, 16, 3, 0);
        int n = TftpPacketWriter.WriteRequest(buffer, TftpOpcode.Rrq, "boot/pxelinux.0", TftpMode.Octet, options);
        Assert.Equal(Bytes(1, "boot/pxelinux.0\0octet\0blksize\01428\0windowsize\016\0timeout\03\0tsize\00\0"), buffer[..n]);

        Assert.Equal(TftpParseError.None, TftpPacketReader.ReadRequest(buffer.AsSpan(0, n), out var request));
        Assert.Equal(TftpOpcode.Rrq, request!.Opcode);
        Assert.Equal("boot/pxelinux.0", request.FileName);
        Assert.Equal(TftpMode.Octet, request.Mode);
        Assert.Equal(options, request.Options);
    }

    [Fact]
    public void Mode_and_option_names_are_case_insensitive()
    {
        var data = Bytes(2, "a\0NetASCII\0BLKSIZE\0100\0");
        Assert.Equal(TftpParseError.None, TftpPacketReader.ReadRequest(data, out var request));
        Assert.Equal(TftpMode.NetAscii, request!.Mode);
        Assert.Equal("100", request.Find(TftpOption.BlockSize)!.Value.Value);
    }

    [Fact]
    public void Data_ack_error_oack_round_trip()
    {
        var buffer = new byte[TftpLimits.MaxPacketLength];
        int n = TftpPacketWriter.WriteData(buffer, 65535, new byte[] { 1, 2, 3 });
        Assert.True(TftpPacketReader.TryReadData(buffer.AsSpan(0, n), out ushort block, out var payload));
        Assert.Equal(65535, block);
        Assert.Equal(new byte[] { 1, 2, 3 }, payload.ToArray());

        n = TftpPacketWriter.WriteAck(buffer, 7);
        Assert.Equal(Bytes(4, 7), buffer[..n]);
        Assert.True(TftpPacketReader.TryReadAck(buffer.AsSpan(0, n), out block));
        Assert.Equal(7, block);

        n = TftpPacketWriter.WriteError(buffer, TftpErrorCode.FileNotFound, "no such file");
        Assert.Equal(Bytes(5, 1, "no such file\0"), buffer[..n]);
        Assert.True(TftpPacketReader.TryReadError(buffer.AsSpan(0, n), out var code, out string message));
        Assert.Equal(TftpErrorCode.FileNotFound, code);
        Assert.Equal("no such file", message);

        n = TftpPacketWriter.WriteOack(buffer, new[] { new TftpOption("blksize", "1428") });
        Assert.Equal(TftpParseError.None, TftpPacketReader.ReadOack(buffer.AsSpan(0, n), out var oack));
        Assert.Equal(new TftpOption("blksize", "1428"), Assert.Single(oack));
    }

    [Fact]
    public void Empty_data_block_is_valid()
    {
        Assert.True(TftpPacketReader.TryReadData(Bytes(3, 9), out ushort block, out var payload));
        Assert.Equal(9, block);
        Assert.True(payload.IsEmpty);
    }

    public static TheoryData<byte[], TftpParseError> MalformedRequests => new()
    {
        { Array.Empty<byte>(), TftpParseError.Truncated },
        { new byte[] { 0 }, TftpParseError.Truncated },
        { Bytes(1), TftpParseError.UnterminatedString },
        { Bytes(0, "x\0octet\0"), TftpParseError.UnknownOpcode },
        { Bytes(7, "x\0octet\0"), TftpParseError.UnknownOpcode },
        { Bytes(0xFFFF, "x\0octet\0"), TftpParseError.UnknownOpcode },
        { Bytes(3, "x\0octet\0"), TftpParseError.UnknownOpcode },
        { Bytes(1, "file-without-terminator"), TftpParseError.UnterminatedString },
        { Bytes(1, "file\0octet"), TftpParseError.UnterminatedString },
        { Bytes(1, "file\0octet\0blksize"), TftpParseError.UnterminatedString },
        { Bytes(1, "file\0octet\0blksize\0"), TftpParseError.BadOptions },
        { Bytes(1, "file\0octet\0blksize\0512"), TftpParseError.BadOptions },
        { Bytes(1, "\0octet\0"), TftpParseError.BadFileName },
        { Bytes(1, new byte[] { 0xC3, 0x28, 0 }, "octet\0"), TftpParseError.BadFileName },
        { Bytes(1, "file\0mail\0"), TftpParseError.BadMode },
        { Bytes(1, "file\0\0"), TftpParseError.BadMode },
        { Bytes(1, "file\0octet\0bl\u0001k\0512\0"), TftpParseError.BadOptions },
        { Bytes(1, new string('a', TftpLimits.MaxRequestLength), "\0octet\0"), TftpParseError.TooLong },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public void Malformed_requests_are_values_not_exceptions(byte[] datagram, TftpParseError expected)
    {
        Assert.Equal(expected, TftpPacketReader.ReadRequest(datagram, out var request));
        Assert.Null(request);
    }

    [Fact]
    public void Huge_option_list_is_refused()
    {
        var sb = new StringBuilder("file\0octet\0");
        for (int i = 0; i < TftpLimits.MaxOptions + 1; i++)
        {
            sb.Append("opt").Append(i).Append("\0").Append(i).Append('\0');
        }

        Assert.Equal(TftpParseError.BadOptions, TftpPacketReader.ReadRequest(Bytes(1, sb.ToString()), out _));

        // Exactly the limit is fine.
        sb = new StringBuilder("file\0octet\0");
        for (int i = 0; i < TftpLimits.MaxOptions; i++)
        {
            sb.Append("opt").Append(i).Append("\0").Append(i).Append('\0');
        }

        Assert.Equal(TftpParseError.None, TftpPacketReader.ReadRequest(Bytes(1, sb.ToString()), out var request));
        Assert.Equal(TftpLimits.MaxOptions, request!.Options.Count);
    }

    [Fact]
    public void Trailing_nul_padding_after_options_is_tolerated()
    {
        Assert.Equal(TftpParseError.None, TftpPacketReader.ReadRequest(Bytes(1, "f\0octet\0tsize\00\0\0\0\0"), out var request));
        Assert.Equal(new TftpOption("tsize", "0"), Assert.Single(request!.Options));
    }

    [Fact]
    public void Short_data_ack_error_are_rejected()
    {
        Assert.False(TftpPacketReader.TryReadData(Bytes(3), out _, out _));
        Assert.False(TftpPacketReader.TryReadData(new byte[] { 0, 3, 1 }, out _, out _));
        Assert.False(TftpPacketReader.TryReadAck(new byte[] { 0, 4, 1 }, out _));
        Assert.False(TftpPacketReader.TryReadAck(Bytes(3, 1), out _));
        Assert.False(TftpPacketReader.TryReadError(new byte[] { 0, 5, 0 }, out _, out _));
        Assert.False(TftpPacketReader.TryReadOpcode(new byte[] { 0, 9 }, out _));
    }

    [Fact]
    public void Error_message_is_decoded_leniently_and_made_printable()
    {
        Assert.True(TftpPacketReader.TryReadError(Bytes(5, 2, "bad\u0007\nthing"), out var code, out string message));
        Assert.Equal(TftpErrorCode.AccessViolation, code);
        Assert.Equal("bad??thing", message);

        Assert.True(TftpPacketReader.TryReadError(Bytes(5, 0, new string('x', 5000)), out _, out message));
        Assert.Equal(TftpLimits.MaxErrorMessageChars, message.Length);
    }

    [Fact]
    public void Random_datagrams_never_throw()
    {
        var rng = new Random(42);
        var buffer = new byte[600];
        for (int i = 0; i < 20_000; i++)
        {
            int len = rng.Next(buffer.Length);
            rng.NextBytes(buffer.AsSpan(0, len));
            if (len >= 2 && rng.Next(2) == 0)
            {
                buffer[0] = 0;
                buffer[1] = (byte)rng.Next(8);
            }

            var d = buffer.AsSpan(0, len);
            TftpPacketReader.ReadRequest(d, out _);
            TftpPacketReader.ReadOack(d, out _);
            TftpPacketReader.TryReadData(d, out _, out _);
            TftpPacketReader.TryReadAck(d, out _);
            TftpPacketReader.TryReadError(d, out _, out _);
        }
    }

    [Fact]
    public void Block_numbers_unwrap_around_rollover()
    {
        Assert.Equal(0, TftpBlockNumber.ToWire(65536));
        Assert.Equal(1, TftpBlockNumber.ToWire(65537));
        Assert.Equal(65536, TftpBlockNumber.FromWire(0, 65530));
        Assert.Equal(65540, TftpBlockNumber.FromWire(4, 65535));
        Assert.Equal(65535 + 65535, TftpBlockNumber.FromWire(65534, 65535));

        // One behind the floor maps to the far end of the range, which state machines treat as never sent.
        Assert.Equal(100 + 65535, TftpBlockNumber.FromWire(99, 100));
    }
}
