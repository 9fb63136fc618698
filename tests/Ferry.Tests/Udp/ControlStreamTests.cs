using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Udp.Sim;

namespace Ferry.Tests.Udp;

/// <summary>The control stream alone, and both directions of it over the simulated network.</summary>
public class ControlStreamTests
{
    private static byte[] RandomBytes(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static TheoryData<string> Conditions => new() { "clean", "loss20", "burst", "reorder", "duplicate", "corrupt", "everything" };

    private static LinkConfig Link(string condition) => condition switch
    {
        "clean" => new LinkConfig { Delay = 500 },
        "loss20" => new LinkConfig { Delay = 10_000, Loss = 0.20 },
        "burst" => new LinkConfig { Delay = 10_000, BurstEnter = 0.02, BurstLeave = 0.2, BurstLoss = 1.0 },
        "reorder" => new LinkConfig { Delay = 5_000, Jitter = 4_000 },
        "duplicate" => new LinkConfig { Delay = 5_000, Duplicate = 0.2 },
        "corrupt" => new LinkConfig { Delay = 5_000, Corrupt = 0.1 },
        "everything" => new LinkConfig { Delay = 20_000, Jitter = 5_000, Loss = 0.05, Duplicate = 0.05, Corrupt = 0.05, RateBps = 50_000_000, QueuePackets = 300 },
        _ => throw new ArgumentException(condition),
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public void Both_streams_deliver_every_byte_once_in_order(string condition)
    {
        // More than the window each way, so the window and retransmission both matter; the server writes before it accepts.
        var up = RandomBytes(1, ControlStream.Window + 300_001);
        var down = RandomBytes(2, ControlStream.Window / 2 + 77);
        var sim = new SimTransfer(seed: 21, Link(condition), Link(condition));
        var atServer = new MemoryStream();
        var atClient = new MemoryStream();
        var client = Connection.CreateJobClient(sim.ClientConfig, sim.NextClientId(), TransferOp.JobPut, 1, sim.Now);
        for (int at = 0; at < up.Length; at += 70_000)
        {
            client.WriteStream(up.AsSpan(at, Math.Min(70_000, up.Length - at)));
        }

        sim.ServerAppOverride = (c, ev) =>
        {
            switch (ev.Kind)
            {
                case ConnectionEventKind.RequestReceived:
                    Assert.Equal(TransferOp.JobPut, ev.Op);
                    Assert.Equal(1, ev.Size);
                    c.WriteStream(down);
                    break;
                case ConnectionEventKind.StreamData:
                    atServer.Write(ev.StreamBytes);
                    if (atServer.Length == up.Length)
                    {
                        c.AcceptJob(0, null, new MemorySink(0), null);
                    }

                    break;
            }
        };
        sim.ClientAppOverride = (c, ev) =>
        {
            switch (ev.Kind)
            {
                case ConnectionEventKind.ServerKeyReceived:
                    c.ConfirmServerKey();
                    break;
                case ConnectionEventKind.Accepted:
                    Assert.Equal(0, ev.Size);
                    c.StartSendingJob(new MemorySource([]));
                    break;
                case ConnectionEventKind.StreamData:
                    atClient.Write(ev.StreamBytes);
                    break;
            }
        };
        sim.OnStep = s =>
        {
            if (atClient.Length == down.Length && client.State == ConnectionState.Established && client.StreamAcknowledged)
            {
                client.FinishJob(s.Now);
            }
        };

        var result = sim.RunClient(client, maxSteps: 400_000);

        Assert.True(result.Completed, $"{result.ClientCode}: {result.ClientMessage} after {result.Steps} steps");
        Assert.Equal(up, atServer.ToArray());
        Assert.Equal(down, atClient.ToArray());
    }

    [Fact]
    public void A_client_never_puts_stream_bytes_in_the_packet_of_its_request()
    {
        // An older server drops a packet with a frame it does not know: the REQUEST must reach it alone, to be refused
        // clearly. Cleartext, so the capture can be read; a lossy uplink makes the REQUEST go several times.
        var clientConfig = new ConnectionConfig { Security = new UdpSecurity { Insecure = true } };
        var serverConfig = new ConnectionConfig { Security = new UdpSecurity { Identity = Ferry.Tests.Support.TestSecurity.ServerKey, AllowInsecure = true } };
        var sim = new SimTransfer(seed: 3, new LinkConfig { Delay = 10_000, Loss = 0.3 }, new LinkConfig { Delay = 10_000 }, clientConfig, serverConfig) { Capture = new List<byte[]>() };
        var client = Connection.CreateJobClient(clientConfig, sim.NextClientId(), TransferOp.JobPut, 1, sim.Now);
        client.WriteStream(RandomBytes(4, 20_000));
        sim.ServerAppOverride = (c, ev) =>
        {
            if (ev.Kind == ConnectionEventKind.RequestReceived)
            {
                c.Reject(TransferError.ProtocolViolation, "unknown operation 5 in REQUEST", sim.Now);
            }
        };

        var result = sim.RunClient(client, maxSteps: 100_000);

        Assert.Equal(TransferError.ProtocolViolation, result.ClientCode);
        int requests = 0, streams = 0;
        var ranges = new AckRange[FrameCodec.MaxAckRanges + 1];
        foreach (var d in sim.Capture)
        {
            if (Packet.TryParse(d, out var p) != PacketError.None || p.Protected || p.DestinationId == client.LocalId)
            {
                continue;
            }

            var r = new SpanReader(p.Payload);
            bool request = false, stream = false;
            while (!r.End && FrameCodec.TryRead(ref r, ranges, out var f))
            {
                request |= f.Type == FrameType.Request;
                stream |= f.Type == FrameType.Stream;
            }

            Assert.False(request && stream, "a packet carried the REQUEST and STREAM bytes");
            requests += request ? 1 : 0;
            streams += stream ? 1 : 0;
        }

        Assert.True(requests > 0 && streams > 0, $"{requests} REQUEST packets, {streams} STREAM packets");
    }

    [Fact]
    public void Bytes_ahead_of_a_gap_wait_and_duplicates_are_delivered_once()
    {
        var s = new ControlStream();
        Assert.Empty(s.Receive(10, new byte[] { 10, 11, 12 }, out var error)!);
        Assert.Null(error);
        Assert.Empty(s.Receive(11, new byte[] { 11, 12, 13 }, out _)!);
        var first = s.Receive(0, Enumerable.Range(0, 10).Select(i => (byte)i).ToArray(), out _)!;
        Assert.Equal(Enumerable.Range(0, 14).Select(i => (byte)i), first);
        Assert.Empty(s.Receive(5, new byte[] { 5, 6 }, out _)!);
        Assert.Equal(new byte[] { 14 }, s.Receive(12, new byte[] { 12, 13, 14 }, out _));
        Assert.Equal(15, s.Delivered);
    }

    [Fact]
    public void Bytes_past_the_window_or_too_many_pieces_are_refused()
    {
        var s = new ControlStream();
        Assert.Null(s.Receive(ControlStream.Window - 1, new byte[] { 1, 2 }, out var error));
        Assert.Contains("window", error);

        var t = new ControlStream();
        for (int i = 0; i < ControlStream.MaxPieces; i++)
        {
            Assert.NotNull(t.Receive(2 + (2 * i), new byte[] { 1 }, out _));
        }

        Assert.Null(t.Receive(2 + (2 * ControlStream.MaxPieces), new byte[] { 1 }, out error));
        Assert.Contains("pieces", error);
    }

    [Fact]
    public void A_sender_stays_inside_the_window_and_resends_only_what_was_lost_and_not_acknowledged()
    {
        var s = new ControlStream();
        s.Write(new byte[ControlStream.Window + 5000]);
        var buffer = new byte[1200];
        long sent = 0;
        var frames = new List<(long Offset, int Length)>();
        while (s.HasSendable)
        {
            var w = new SpanWriter(buffer);
            Assert.True(s.TryWriteFrame(ref w, out long offset, out int length));
            Assert.Equal(sent, offset);
            sent += length;
            frames.Add((offset, length));
        }

        Assert.Equal(ControlStream.Window, sent);

        // The second frame lost, the first and third acknowledged: only the second goes again, then new bytes.
        s.OnAcked(frames[0].Offset, frames[0].Length);
        s.OnAcked(frames[2].Offset, frames[2].Length);
        s.OnLost(frames[1].Offset, frames[1].Length);
        var w2 = new SpanWriter(buffer);
        Assert.True(s.TryWriteFrame(ref w2, out long again, out int againLength));
        Assert.Equal(frames[1], (again, againLength));
        Assert.Equal(frames[0].Length, s.Acknowledged);
        s.OnAcked(again, againLength);
        Assert.Equal(frames[0].Length + frames[1].Length + frames[2].Length, s.Acknowledged);
        var w3 = new SpanWriter(buffer);
        Assert.True(s.TryWriteFrame(ref w3, out long next, out _));
        Assert.Equal(ControlStream.Window, next);
    }

    [Fact]
    public void A_stream_frame_past_the_largest_offset_is_malformed()
    {
        var buffer = new byte[64];
        var w = new SpanWriter(buffer);
        FrameCodec.WriteStreamHeader(ref w, ControlStream.MaxOffset - 1, 2);
        w.WriteByte(1);
        w.WriteByte(2);
        var r = new SpanReader(buffer.AsSpan(0, w.Position));
        Assert.False(FrameCodec.TryRead(ref r, new AckRange[4], out _));

        var ok = new SpanWriter(buffer);
        FrameCodec.WriteStreamHeader(ref ok, 7, 1);
        ok.WriteByte(9);
        var r2 = new SpanReader(buffer.AsSpan(0, ok.Position));
        Assert.True(FrameCodec.TryRead(ref r2, new AckRange[4], out var f));
        Assert.Equal(FrameType.Stream, f.Type);
        Assert.Equal(7, f.Offset);
        Assert.Equal(1, f.Length);
    }
}
