using Ferry.Protocol.Zmq;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Zmq;

public sealed class ZmqRequestParserTests
{
    private static ZmqParseResult Parse(ReadOnlyMemory<byte>[] frames) => ZmqRequestParser.Parse(frames, frames.Length);

    [Fact]
    public void Parses_the_three_requests_exactly_as_listed()
    {
        var hello = Parse(Hello("dir/a.bin"));
        Assert.True(hello.IsValid);
        Assert.Equal(ZmqVerb.Hello, hello.Request.Verb);
        Assert.Equal("dir/a.bin", hello.Request.FileName);

        byte[] data = Bytes(1000, 1);
        var chunk = Parse(Chunk("dir/a.bin", 4096, data));
        Assert.True(chunk.IsValid, chunk.Error);
        Assert.Equal(ZmqVerb.Chunk, chunk.Request.Verb);
        Assert.Equal(4096, chunk.Request.Offset);
        Assert.Equal(1000, chunk.Request.Size);
        Assert.Equal(Hex(data), chunk.Request.Checksum.ToLowerHex());
        Assert.True(chunk.Request.Data.Span.SequenceEqual(data));

        var close = Parse(Close("dir/a.bin", 5096));
        Assert.True(close.IsValid);
        Assert.Equal(ZmqVerb.Close, close.Request.Verb);
        Assert.Equal(5096, close.Request.Size);
    }

    [Theory]
    [InlineData(new[] { "HELLO" }, "wrong frame count: HELLO takes 2 frames (HELLO, filename) or 3 (HELLO, filename, token), got 1")]
    [InlineData(new[] { "HELLO", "a", "b", "c" }, "wrong frame count: HELLO takes 2 frames (HELLO, filename) or 3 (HELLO, filename, token), got 4")]
    [InlineData(new[] { "CHUNK", "a", "0", "1", "x" }, "wrong frame count: CHUNK takes 6 frames (CHUNK, filename, offset, size, checksum, data), got 5")]
    [InlineData(new[] { "CLOSE", "a" }, "wrong frame count: CLOSE takes 3 frames (CLOSE, filename, size), got 2")]
    [InlineData(new[] { "CLOSE", "a", "1", "2" }, "wrong frame count: CLOSE takes 3 frames (CLOSE, filename, size), got 4")]
    [InlineData(new[] { "hello", "a" }, "unknown verb 'hello': expected HELLO, CHUNK or CLOSE")]
    [InlineData(new[] { "PUT", "a" }, "unknown verb 'PUT': expected HELLO, CHUNK or CLOSE")]
    [InlineData(new[] { "HELLO", "" }, "filename is empty")]
    [InlineData(new[] { "CLOSE", "a", "-1" }, "size is not an ASCII decimal number from 0 to 9223372036854775807: '-1'")]
    [InlineData(new[] { "CLOSE", "a", "" }, "size is not an ASCII decimal number from 0 to 9223372036854775807: ''")]
    [InlineData(new[] { "CLOSE", "a", " 1" }, "size is not an ASCII decimal number from 0 to 9223372036854775807: ' 1'")]
    [InlineData(new[] { "CLOSE", "a", "0x10" }, "size is not an ASCII decimal number from 0 to 9223372036854775807: '0x10'")]
    [InlineData(new[] { "CLOSE", "a", "9223372036854775808" }, "size is not an ASCII decimal number from 0 to 9223372036854775807: '9223372036854775808'")]
    [InlineData(new[] { "CLOSE", "a", "12345678901234567890" }, "size is not an ASCII decimal number from 0 to 9223372036854775807: '12345678901234567890'")]
    public void Malformed_messages_get_precise_texts(string[] frames, string expected)
    {
        var r = Parse(Of(frames));
        Assert.False(r.IsValid);
        Assert.Equal(expected, r.Error);
    }

    [Fact]
    public void Largest_number_is_accepted()
    {
        var r = Parse(Close("a", long.MaxValue));
        Assert.True(r.IsValid);
        Assert.Equal(long.MaxValue, r.Request.Size);
        Assert.True(ZmqRequestParser.TryParseNumber("0007"u8, out long v) && v == 7);
    }

    [Fact]
    public void Chunk_field_errors_are_precise()
    {
        byte[] data = Bytes(10, 2);
        string sum = Hex(data);
        Assert.Equal("offset is not an ASCII decimal number from 0 to 9223372036854775807: 'x1'",
            Parse(Of("CHUNK", "f", "x1", "10", sum, data)).Error);
        Assert.Equal("size is not an ASCII decimal number from 0 to 9223372036854775807: '1e1'",
            Parse(Of("CHUNK", "f", "0", "1e1", sum, data)).Error);
        Assert.Equal("size 11 does not match the data frame length 10", Parse(Of("CHUNK", "f", "0", "11", sum, data)).Error);
        Assert.Equal("size 9 does not match the data frame length 10", Parse(Of("CHUNK", "f", "0", "9", sum, data)).Error);
        Assert.Equal($"checksum must be 64 lowercase hex digits (the SHA-256 of the data frame), got '{sum.ToUpperInvariant()}'",
            Parse(Of("CHUNK", "f", "0", "10", sum.ToUpperInvariant(), data)).Error);
        Assert.StartsWith("checksum must be 64 lowercase hex digits", Parse(Of("CHUNK", "f", "0", "10", sum[..63], data)).Error);
        Assert.StartsWith("checksum must be 64 lowercase hex digits", Parse(Of("CHUNK", "f", "0", "10", sum[..63] + "g", data)).Error);
    }

    [Fact]
    public void Oversized_frames_get_error_naming_the_frame_and_limit()
    {
        var big = new byte[ZmqLimits.MaxChunkBytes + 1];
        var r = Parse(Of("CHUNK", "f", "0", big.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), new string('0', 64), big));
        Assert.Equal($"frame 6 (data) is {big.Length} bytes, over the limit of {ZmqLimits.MaxChunkBytes}", r.Error);

        var longName = new string('n', ZmqLimits.MaxFileNameBytes + 1);
        Assert.Equal($"frame 2 (filename) is {longName.Length} bytes, over the limit of {ZmqLimits.MaxFileNameBytes}", Parse(Hello(longName)).Error);
        Assert.True(Parse(Hello(new string('n', ZmqLimits.MaxFileNameBytes))).IsValid);
    }

    [Fact]
    public void Binary_junk_is_escaped_and_shortened_in_the_error()
    {
        var junk = new byte[] { 0, 1, 0xff, (byte)'A', (byte)'\'', (byte)'\\' };
        Assert.Equal(@"unknown verb '\x00\x01\xffA\x27\x5c': expected HELLO, CHUNK or CLOSE", Parse(Of(junk)).Error);
        var longJunk = new byte[1000];
        Assert.EndsWith(@"...(1000 bytes)': expected HELLO, CHUNK or CLOSE", Parse(Of(longJunk, "x")).Error);
        Assert.Equal("filename is not valid UTF-8", Parse(Of("HELLO", new byte[] { 0xc3, 0x28 })).Error);
        Assert.Equal(ZmqErrors.EmptyMessage, ZmqRequestParser.Parse(ReadOnlySpan<ReadOnlyMemory<byte>>.Empty, 0).Error);
    }

    [Fact]
    public void Frame_count_counts_frames_that_were_not_kept()
    {
        // The socket loop keeps only the first frames of a message with very many.
        var kept = Of("HELLO", "a", "x", "x", "x", "x", "x", "x");
        Assert.Equal("wrong frame count: HELLO takes 2 frames (HELLO, filename) or 3 (HELLO, filename, token), got 5000", ZmqRequestParser.Parse(kept, 5000).Error);
    }

    [Fact]
    public void Random_frames_never_throw()
    {
        var rng = new Random(42);
        string[] verbs = { "HELLO", "CHUNK", "CLOSE", "X" };
        for (int i = 0; i < 20_000; i++)
        {
            int n = rng.Next(0, 9);
            var frames = new ReadOnlyMemory<byte>[n];
            for (int k = 0; k < n; k++)
            {
                if (k == 0 && rng.Next(4) > 0)
                {
                    frames[k] = System.Text.Encoding.ASCII.GetBytes(verbs[rng.Next(verbs.Length)]);
                    continue;
                }

                var b = new byte[rng.Next(0, rng.Next(2) == 0 ? 8 : 100)];
                if (rng.Next(3) == 0)
                {
                    for (int j = 0; j < b.Length; j++)
                    {
                        b[j] = (byte)('0' + rng.Next(10));
                    }
                }
                else
                {
                    rng.NextBytes(b);
                }

                frames[k] = b;
            }

            var r = ZmqRequestParser.Parse(frames, n);
            Assert.True(r.IsValid || r.Error!.Length > 0);
        }
    }
}
