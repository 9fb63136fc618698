using Ferry.Protocol.Zmq;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Zmq;

/// <summary>Malformed traffic gets ERROR (or, past the hard frame limit, a dropped connection) and the server keeps serving.</summary>
public sealed class ZmqGarbageTests
{
    [ZmqFact]
    public async Task Wrong_frame_counts_unknown_verbs_bad_numbers_and_sizes_get_precise_errors()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        byte[] d = Bytes(10, 1);
        Assert.Equal("READY", c.Call(Hello("f")));
        var cases = new (ReadOnlyMemory<byte>[] Frames, string Reply)[]
        {
            (Of("HELLO"), "ERROR wrong frame count: HELLO takes 2 frames (HELLO, filename) or 3 (HELLO, filename, token), got 1"),
            (Of("CHUNK", "f", "0", "10", Hex(d)), "ERROR wrong frame count: CHUNK takes 6 frames (CHUNK, filename, offset, size, checksum, data), got 5"),
            (Of("CHUNK", "f", "0", "10", Hex(d), d, d), "ERROR wrong frame count: CHUNK takes 6 frames (CHUNK, filename, offset, size, checksum, data), got 7"),
            (Of("CLOSE", "f"), "ERROR wrong frame count: CLOSE takes 3 frames (CLOSE, filename, size), got 2"),
            (Of("GET", "f"), "ERROR unknown verb 'GET': expected HELLO, CHUNK or CLOSE"),
            (Of("CHUNK", "f", "zero", "10", Hex(d), d), "ERROR offset is not an ASCII decimal number from 0 to 9223372036854775807: 'zero'"),
            (Of("CHUNK", "f", "0", "11", Hex(d), d), "ERROR size 11 does not match the data frame length 10"),
            (Of("CHUNK", "f", "0", "10", "nothex", d), "ERROR checksum must be 64 lowercase hex digits (the SHA-256 of the data frame), got 'nothex'"),
            (Of("CLOSE", "f", "-5"), "ERROR size is not an ASCII decimal number from 0 to 9223372036854775807: '-5'"),
            (Of("HELLO", new byte[] { 0xff, 0xfe }), "ERROR filename is not valid UTF-8"),
        };
        foreach (var (frames, _) in cases)
        {
            c.Send(frames);
        }

        foreach (var (_, reply) in cases)
        {
            Assert.Equal(reply, c.Receive());
        }

        // None of it touched the open transfer.
        Assert.Equal("READY", c.Call(Chunk("f", 0, d)));
        Assert.Equal("READY", c.Call(Close("f", 10)));
        Assert.Equal(d, server.ReadStored("f"));
    }

    [ZmqFact]
    public async Task Oversized_frames_get_error_and_frames_past_the_hard_limit_only_cost_that_connection()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        Assert.Equal("READY", c.Call(Hello("f")));
        var big = new byte[ZmqLimits.MaxChunkBytes + 1];
        Assert.Equal($"ERROR frame 6 (data) is {big.Length} bytes, over the limit of {ZmqLimits.MaxChunkBytes}",
            c.Call(Of("CHUNK", "f", "0", big.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Hex(big), big)));
        Assert.Equal($"ERROR frame 2 (filename) is 5000 bytes, over the limit of {ZmqLimits.MaxFileNameBytes}", c.Call(Hello(new string('x', 5000))));

        // Beyond the hard limit libzmq drops the connection before the server sees the frame.
        using (var rude = new TestDealer(server.Endpoint))
        {
            rude.Send(Of("CHUNK", "f", "0", "1", Hex(new byte[1]), new byte[ZmqLimits.HardMaxFrameBytes + 1]));
        }

        // The server still serves, including this client's open transfer.
        byte[] d = Bytes(100, 2);
        Assert.Equal("READY", c.Call(Chunk("f", 0, d)));
        Assert.Equal("READY", c.Call(Close("f", 100)));
        using var fresh = new TestDealer(server.Endpoint);
        fresh.Upload("g", d);
        Assert.Equal(d, server.ReadStored("g"));
    }

    [ZmqFact]
    public async Task Thousands_of_random_junk_messages_each_get_one_error_and_a_concurrent_upload_completes()
    {
        await using var server = new ZmqServerFixture();
        byte[] good = Bytes(3 << 20, 3);
        var upload = Task.Factory.StartNew(
            () =>
            {
                using var u = new TestDealer(server.Endpoint);
                u.Upload("good", good, chunk: 256 << 10);
            },
            TaskCreationOptions.LongRunning);

        using var junk = new TestDealer(server.Endpoint);
        var rng = new Random(11);
        string[] verbs = { "HELLO", "CHUNK", "CLOSE" };
        const int n = 3000;
        int ready = 0;
        for (int i = 0; i < n; i++)
        {
            int frames = rng.Next(1, 9);
            var msg = new ReadOnlyMemory<byte>[frames];
            for (int k = 0; k < frames; k++)
            {
                byte[] b = new byte[rng.Next(0, k == 0 ? 8 : 300)];
                rng.NextBytes(b);
                msg[k] = k == 0 && rng.Next(2) == 0 ? System.Text.Encoding.ASCII.GetBytes(verbs[rng.Next(3)]) : b;
            }

            junk.Send(msg);
        }

        for (int i = 0; i < n; i++)
        {
            // A random HELLO with a valid random name may legitimately succeed; everything else is an ERROR.
            if (junk.Receive(allowEnvelope: true) == "READY")
            {
                ready++;
            }
        }

        Assert.True(ready < n / 10, $"{ready} junk messages got READY");
        await upload.WaitAsync(ZmqServerFixture.Wait);
        Assert.Equal(good, server.ReadStored("good"));
        Assert.Equal("READY", junk.Call(Hello("after-junk")));
    }

    [ZmqFact]
    public async Task A_flood_of_pipelined_requests_gets_one_reply_each_in_order_and_the_client_recovers()
    {
        await using var server = new ZmqServerFixture();
        using var c = new TestDealer(server.Endpoint);
        Assert.Equal("READY", c.Call(Hello("f")));

        // A few big chunks first: their replies take a while, and every later reply must wait behind them,
        // so the tiny requests that follow pile up unanswered beyond the limit.
        const int big = 6;
        byte[] block = Bytes(ZmqLimits.MaxChunkBytes, 4);
        for (int i = 0; i < big; i++)
        {
            c.Send(Chunk("f", (long)i * block.Length, block));
        }

        const int n = ZmqLimits.MaxUnansweredPerClient * 3;
        for (int i = 0; i < n; i++)
        {
            c.Send(Close("nothing", 0));
        }

        for (int i = 0; i < big; i++)
        {
            Assert.Equal("READY", c.Receive());
        }

        int refused = 0;
        for (int i = 0; i < n; i++)
        {
            string r = c.Receive();
            if (r == "ERROR " + ZmqErrors.TooManyUnanswered)
            {
                refused++;
            }
            else
            {
                Assert.Equal("ERROR no open transfer of 'nothing': send HELLO first", r);
            }
        }

        // Whether the limit applied depends on timing (how far the flood got ahead of the big chunks); the
        // limits themselves are tested deterministically in ZmqReplySequencerTests. Here: exactly one reply per
        // request, in order, and everything before the limit was served.
        Assert.True(n - refused >= ZmqLimits.MaxUnansweredPerClient - big - 1, $"only {n - refused} were served");
        Assert.Equal("READY", c.Call(Close("f", (long)big * block.Length)));
        Assert.Equal("READY", c.Call(Hello("g")));
    }
}
