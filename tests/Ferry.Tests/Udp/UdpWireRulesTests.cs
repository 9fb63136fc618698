using System.Security.Cryptography;
using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Udp.Sim;

namespace Ferry.Tests.Udp;

/// <summary>
/// The udp:// rules of docs/PROTOCOL.md as a peer written from the document meets them: what the server acknowledges,
/// how it numbers its packets, what it refuses and how. A hand-written cleartext client (<see cref="RawUdpPeer"/>).
/// </summary>
public class UdpWireRulesTests
{
    private static readonly byte[] s_emptySha = SHA256.HashData(ReadOnlySpan<byte>.Empty);

    private static bool HelloAndRequest(ref SpanWriter w, TransferOp op, string path, long size, int maxDatagram = Packet.DefaultMaxDatagram) =>
        FrameCodec.TryWriteHello(ref w, FrameType.Hello, RawUdpPeer.CleartextHello)
        && FrameCodec.TryWriteRequest(ref w, op, maxDatagram, path, size, size, 1, string.Empty);

    [Fact]
    public void A_data_fin_before_the_request_is_not_acknowledged_and_the_upload_completes_when_it_comes_again()
    {
        var peer = new RawUdpPeer();
        peer.GetRetry();

        // The REQUEST's Initial (pn 1) is overtaken by the one with the DATA_FIN of the empty file (pn 2).
        peer.Send(peer.Initial(2, (ref SpanWriter w) => FrameCodec.TryWriteDataFin(ref w, 0, s_emptySha)));
        Assert.DoesNotContain(peer.Drain(), p => p.Acknowledges(2));

        peer.Send(peer.Initial(1, (ref SpanWriter w) => HelloAndRequest(ref w, TransferOp.Put, "e.bin", 0)));
        var (c, request) = Assert.Single(peer.Events());
        Assert.Equal(ConnectionEventKind.RequestReceived, request.Kind);
        c.Accept(0, 1, null, new MemorySink(0), null);
        var answer = peer.Drain();
        Assert.Contains(answer, p => p.Has(FrameType.Accept) && p.Has(FrameType.Have) && p.Has(FrameType.MaxData));
        Assert.Contains(answer, p => p.Acknowledges(1));
        Assert.DoesNotContain(peer.Received, p => p.Acknowledges(2));
        Assert.Empty(peer.Events()); // nothing complete yet: the DATA_FIN was not kept, and not acknowledged either

        // Unacknowledged, the DATA_FIN goes again (a new packet number, now to the server's connection id).
        ulong serverId = answer.SelectMany(p => p.Frames).First(f => f.Type == FrameType.Accept).ConnectionId;
        peer.Send(RawUdpPeer.Data(serverId, 3, (ref SpanWriter w) => FrameCodec.TryWriteDataFin(ref w, 0, s_emptySha)));
        Assert.Contains(peer.Events(), e => e.Event.Kind == ConnectionEventKind.DataComplete);
        Assert.Contains(peer.Drain(), p => p.Acknowledges(3));
    }

    [Fact]
    public void Data_before_the_request_is_not_acknowledged()
    {
        var peer = new RawUdpPeer();
        peer.GetRetry();
        peer.Send(peer.Initial(2, (ref SpanWriter w) =>
            FrameCodec.TryWriteHello(ref w, FrameType.Hello, RawUdpPeer.CleartextHello) && FrameCodec.TryWriteMaxData(ref w, 1000)));
        peer.Send(peer.Initial(3, (ref SpanWriter w) => FrameCodec.TryWriteHave(ref w, [], complete: true)));
        var sent = peer.Drain();
        Assert.DoesNotContain(sent, p => p.Acknowledges(2) || p.Acknowledges(3));
        var c = Assert.Single(peer.Server.Connections);
        Assert.Equal(2, c.Stats.PrematurePacketsDropped);
    }

    [Fact]
    public void A_cleartext_request_before_the_hello_is_not_acknowledged()
    {
        // HELLO makes the session a cleartext one; a REQUEST that overtakes it could not be acted on, so it is not
        // acknowledged (the client sends it again) instead of acknowledged and ignored.
        var peer = new RawUdpPeer();
        peer.GetRetry();
        peer.Send(peer.Initial(2, (ref SpanWriter w) => FrameCodec.TryWriteRequest(ref w, TransferOp.Get, 1452, "f", 0, 0, 0, string.Empty)));
        Assert.DoesNotContain(peer.Drain(), p => p.Acknowledges(2));
        Assert.Empty(peer.Events());

        peer.Send(peer.Initial(3, (ref SpanWriter w) => HelloAndRequest(ref w, TransferOp.Get, "f", 0)));
        Assert.Contains(peer.Events(), e => e.Event.Kind == ConnectionEventKind.RequestReceived);
    }

    [Fact]
    public void A_data_fin_that_overtakes_a_lost_accept_is_sent_again_not_a_violation()
    {
        // A small download: ACCEPT and the file's bytes share the server's first protected packet, the tail's copy and
        // DATA_FIN follow, then DATA_FIN alone. The first is lost: the client, not knowing the size yet, must neither
        // take the DATA_FIN for a wrong size nor acknowledge it.
        var data = new byte[100];
        new Random(1).NextBytes(data);
        for (int seed = 0; seed < 4; seed++)
        {
            var sim = new SimTransfer(seed, new LinkConfig { Delay = 20_000 }, new LinkConfig { Delay = 20_000 });
            sim.ServerFiles["s.bin"] = data;
            int protectedToClient = 0;
            sim.DownFilter = d => Packet.TryParse(d, out var p) == PacketError.None && p.Protected && ++protectedToClient == 1 ? null : d;
            var r = sim.RunGet("s.bin");
            Assert.True(r.Completed, $"seed {seed}: {r.ClientCode}: {r.ClientMessage}");
            Assert.Equal(data, sim.ClientSink!.Data);
            Assert.True(r.ClientStats.EarlyDataDropped > 0, "nothing arrived before the ACCEPT: the test did not test anything");
        }
    }

    private static void AssertNumberedOnce(IEnumerable<SeenPacket> packets)
    {
        // Retry and Handshake packets carry 0 outside the numbering; every other packet a new, larger number.
        var numbers = packets.Where(p => p.Type is PacketType.Data or PacketType.Initial).Select(p => p.PacketNumber).ToList();
        for (int i = 1; i < numbers.Count; i++)
        {
            Assert.True(numbers[i] > numbers[i - 1], $"packet numbers {string.Join(", ", numbers)}: not strictly increasing");
        }
    }

    [Fact]
    public void The_close_of_a_handshake_that_timed_out_has_a_packet_number_of_its_own()
    {
        var peer = new RawUdpPeer();
        peer.GetRetry();
        peer.Send(peer.Initial(1, (ref SpanWriter w) => FrameCodec.TryWriteHello(ref w, FrameType.Hello, RawUdpPeer.CleartextHello)));
        Assert.Contains(peer.Drain(), p => p.Type == PacketType.Data && p.Acknowledges(1)); // an ACK-only packet: number 0

        peer.Now += new ConnectionConfig().HandshakeTimeout;
        peer.Tick();
        var close = Assert.Single(peer.Drain());
        var frame = Assert.Single(close.Frames, f => f.Type == FrameType.Close);
        Assert.Equal((long)TransferError.ServerBusy, frame.Code);
        Assert.Contains("no request within", frame.Text);
        AssertNumberedOnce(peer.Received);
    }

    [Fact]
    public void The_close_of_an_evicted_handshake_has_a_packet_number_of_its_own()
    {
        var first = new RawUdpPeer(maxHalfOpen: 1);
        first.GetRetry();
        first.Send(first.Initial(1, (ref SpanWriter w) => FrameCodec.TryWriteHello(ref w, FrameType.Hello, RawUdpPeer.CleartextHello)));
        first.Drain();

        var second = new RawUdpPeer(first, 777, new PeerAddress(0x7F00_0002, 40001));
        second.GetRetry();
        second.Send(second.Initial(1, (ref SpanWriter w) => FrameCodec.TryWriteHello(ref w, FrameType.Hello, RawUdpPeer.CleartextHello)));
        var close = Assert.Single(first.Drain());
        Assert.Contains(close.Frames, f => f.Type == FrameType.Close && f.Code == (long)TransferError.ServerBusy);
        AssertNumberedOnce(first.Received);
    }

    [Theory]
    [InlineData(TransferOp.Get, 0.0)]
    [InlineData(TransferOp.Get, 0.1)]
    [InlineData(TransferOp.Put, 0.0)]
    [InlineData(TransferOp.Put, 0.1)]
    public void Every_packet_of_a_transfer_has_a_new_number_in_its_direction(TransferOp op, double loss)
    {
        var data = new byte[200_000];
        new Random(7).NextBytes(data);
        for (int seed = 0; seed < 3; seed++)
        {
            var link = new LinkConfig { Delay = 10_000, Loss = loss };
            var sim = new SimTransfer(seed, link, link) { Capture = new List<byte[]>() };
            sim.ServerFiles["f.bin"] = data;
            var r = op == TransferOp.Get ? sim.RunGet("f.bin") : sim.RunPut("f.bin", data);
            Assert.True(r.Completed, $"seed {seed}: {r.ClientCode}: {r.ClientMessage}");

            var toClient = new List<SeenPacket>();
            var toServer = new List<SeenPacket>();
            foreach (var d in sim.Capture)
            {
                Assert.Equal(PacketError.None, Packet.TryParse(d, out var p));
                var seen = new SeenPacket(p.Type, p.PacketNumber, d.Length, new List<SeenFrame>());
                (p.Type != PacketType.Initial && p.DestinationId == sim.Client!.LocalId ? toClient : toServer).Add(seen);
            }

            AssertNumberedOnce(toClient);
            AssertNumberedOnce(toServer);
            Assert.True(toClient.Count > 10 && toServer.Count > 10);
        }
    }

    private static bool RawRequest(ref SpanWriter w, byte op, ulong maxDatagram, byte[] path)
    {
        if (!FrameCodec.TryWriteHello(ref w, FrameType.Hello, RawUdpPeer.CleartextHello))
        {
            return false;
        }

        w.WriteByte((byte)FrameType.Request);
        w.WriteByte(op);
        w.WriteVarInt(maxDatagram);
        w.WriteVarInt((ulong)path.Length);
        w.WriteBytes(path);
        w.WriteVarInt(0); // size
        w.WriteVarInt(0); // identity size
        w.WriteVarInt(0); // identity mtime
        w.WriteVarInt(0); // access token: none
        return true;
    }

    [Theory]
    [InlineData(1, 1452, new byte[] { 0x66, 0xFF, 0x66 }, TransferError.InvalidPath, "not valid UTF-8")]
    [InlineData(1, 1452, new byte[] { 0xC3, 0x28 }, TransferError.InvalidPath, "not valid UTF-8")]
    [InlineData(7, 1452, new byte[] { 0x66 }, TransferError.ProtocolViolation, "unknown operation 7")]
    [InlineData(5, 1452, new byte[] { 0x66 }, TransferError.ProtocolViolation, "a job's REQUEST has an empty path")]
    [InlineData(0, 1452, new byte[] { 0x66 }, TransferError.ProtocolViolation, "unknown operation 0")]
    [InlineData(1, 1199, new byte[] { 0x66 }, TransferError.ProtocolViolation, "max datagram 1199")]
    [InlineData(2, 0, new byte[] { 0x66 }, TransferError.ProtocolViolation, "max datagram 0")]
    [InlineData(1, 65508, new byte[] { 0x66 }, TransferError.ProtocolViolation, "max datagram 65508")]
    [InlineData(1, 1UL << 40, new byte[] { 0x66 }, TransferError.ProtocolViolation, "max datagram")]
    public void A_request_no_server_can_act_on_is_refused_with_a_reason(byte op, ulong maxDatagram, byte[] path, TransferError code, string reason)
    {
        var peer = new RawUdpPeer();
        peer.GetRetry();
        peer.Send(peer.Initial(1, (ref SpanWriter w) => RawRequest(ref w, op, maxDatagram, path)));
        var close = Assert.Single(peer.Drain().SelectMany(p => p.Frames), f => f.Type == FrameType.Close);
        Assert.Equal((long)code, close.Code);
        Assert.Contains(reason, close.Text);
        var events = peer.Events();
        Assert.DoesNotContain(events, e => e.Event.Kind == ConnectionEventKind.RequestReceived);
        Assert.Contains(events, e => e.Event.Kind == ConnectionEventKind.Closed && e.Event.Code == code);
    }

    [Theory]
    [InlineData(1200)]
    [InlineData(65507)]
    public void A_request_at_either_end_of_the_max_datagram_range_is_served(int maxDatagram)
    {
        var peer = new RawUdpPeer();
        peer.GetRetry();
        peer.Send(peer.Initial(1, (ref SpanWriter w) => HelloAndRequest(ref w, TransferOp.Get, "f", 0, maxDatagram)));
        var (c, request) = Assert.Single(peer.Events());
        Assert.Equal(ConnectionEventKind.RequestReceived, request.Kind);
        Assert.Equal(Math.Min(maxDatagram, new ConnectionConfig().MaxDatagram), c.MaxDatagram);
    }

    [Theory]
    [InlineData(1100)]
    [InlineData(1199)]
    [InlineData(1201)]
    [InlineData(1452)]
    public void An_initial_of_any_size_but_1200_bytes_is_dropped_even_on_an_existing_connection(int size)
    {
        var peer = new RawUdpPeer();
        peer.GetRetry();
        peer.Send(peer.Initial(1, (ref SpanWriter w) => FrameCodec.TryWriteHello(ref w, FrameType.Hello, RawUdpPeer.CleartextHello)));
        Assert.Single(peer.Server.Connections);
        peer.Drain();

        peer.Send(peer.Initial(2, (ref SpanWriter w) => FrameCodec.TryWriteRequest(ref w, TransferOp.Get, 1452, "f", 0, 0, 0, string.Empty), size));
        Assert.Empty(peer.Events());
        Assert.DoesNotContain(peer.Drain(), p => p.Acknowledges(2));

        peer.Send(peer.Initial(3, (ref SpanWriter w) => FrameCodec.TryWriteRequest(ref w, TransferOp.Get, 1452, "f", 0, 0, 0, string.Empty)));
        Assert.Contains(peer.Events(), e => e.Event.Kind == ConnectionEventKind.RequestReceived);
    }

    [Fact]
    public void Every_initial_a_client_sends_is_1200_bytes_and_its_request_always_fits()
    {
        var config = new ConnectionConfig { Security = new UdpSecurity { Insecure = true }, MaxDatagram = 9000 };
        var buffer = new byte[Packet.MaxMaxDatagram];

        // The longest path that fits, with an access token: one Initial carries HELLO and the REQUEST is in one too.
        string token = "ferry_" + new string('t', 32);
        int pathBytes = Connection.MaxRequestBytes - FrameCodec.RequestSize(9000, string.Empty, 1L << 40, 1L << 40, 1L << 42, token);
        var path = new string('p', pathBytes - 2);
        var client = Connection.CreateClient(config, 5, TransferOp.Put, path, 1L << 40, 1L << 42, new MemorySource([]), 0, token);
        var sizes = new List<int>();
        bool requestSent = false;
        int n;
        while ((n = client.PollTransmit(0, buffer)) > 0 && sizes.Count < 10)
        {
            sizes.Add(n);
            Assert.Equal(PacketError.None, Packet.TryParse(buffer.AsSpan(0, n), out var p));
            var r = new SpanReader(p.Payload);
            var scratch = new AckRange[FrameCodec.MaxAckRanges + 1];
            while (!r.End)
            {
                Assert.True(FrameCodec.TryRead(ref r, scratch, out var f));
                requestSent |= f.Type == FrameType.Request && f.Text == path;
            }
        }

        Assert.True(requestSent);

        // Closing before ACCEPT: the CLOSE goes in an Initial too, also 1200 bytes, even with a long message.
        client.Close(TransferError.Cancelled, new string('m', 3000), 0);
        n = client.PollTransmit(0, buffer);
        sizes.Add(n);
        Assert.Equal(PacketError.None, Packet.TryParse(buffer.AsSpan(0, n), out var closing));
        Assert.Equal(PacketType.Initial, closing.Type);
        Assert.Contains(RawUdpPeer.Decode(buffer.AsSpan(0, n)).Frames, f => f.Type == FrameType.Close && f.Code == (long)TransferError.Cancelled);
        Assert.All(sizes, s => Assert.Equal(Packet.MinInitialSize, s));
    }

    [Fact]
    public void A_request_too_large_for_an_initial_fails_at_once_and_sends_nothing()
    {
        var config = new ConnectionConfig { Security = new UdpSecurity { Insecure = true } };
        var client = Connection.CreateClient(config, 5, TransferOp.Get, new string('p', 1030), 0, 0, null, 0);
        Assert.Equal(ConnectionState.Closed, client.State);
        Assert.True(client.TryPollEvent(out var ev));
        Assert.Equal(ConnectionEventKind.Closed, ev.Kind);
        Assert.Equal(TransferError.InvalidPath, ev.Code);
        Assert.Contains("path too long", ev.Message);
        Assert.Equal(0, client.PollTransmit(0, new byte[Packet.MaxMaxDatagram]));
        client.ReceiveOnAccept(_ => null); // the real client's next call: a no-op now, not an exception
        Assert.Equal(ConnectionState.Closed, client.State);
    }

    private static bool Reads(params byte[] payload)
    {
        var r = new SpanReader(payload);
        var scratch = new AckRange[FrameCodec.MaxAckRanges + 1];
        while (!r.End)
        {
            if (!FrameCodec.TryRead(ref r, scratch, out _))
            {
                return false;
            }
        }

        return true;
    }

    [Fact]
    public void Padding_runs_to_the_end_of_the_packet()
    {
        Assert.True(Reads(0x01, 0x00, 0x00, 0x00));
        Assert.False(Reads(0x00, 0x00, 0x01));       // a PING after PADDING
        Assert.False(Reads(0x01, 0x00, 0x0A, 0x00, 0x00)); // a CLOSE after PADDING
    }

    [Theory]
    [InlineData(new byte[] { 0x07, 0x01, 0x02, 0x00, 0x0A, 0x0A, 0x05 }, true)]   // [0,10) [10,15): adjacent is fine
    [InlineData(new byte[] { 0x07, 0x00, 0x00 }, true)]                           // empty, list incomplete
    [InlineData(new byte[] { 0x07, 0x02, 0x00 }, false)]                          // a reserved flag bit
    [InlineData(new byte[] { 0x07, 0x81, 0x00 }, false)]                          // a reserved flag bit
    [InlineData(new byte[] { 0x07, 0x01, 0x02, 0x00, 0x0A, 0x05, 0x05 }, false)]  // [0,10) [5,10): overlapping
    [InlineData(new byte[] { 0x07, 0x01, 0x02, 0x14, 0x0A, 0x00, 0x05 }, false)]  // [20,30) [0,5): out of order
    [InlineData(new byte[] { 0x07, 0x01, 0x01, 0x05, 0x00 }, false)]              // an empty range
    public void Have_is_strict(byte[] frame, bool valid) => Assert.Equal(valid, Reads(frame));

    [Fact]
    public void A_have_past_the_end_of_the_file_is_a_protocol_violation()
    {
        // Server side: a GET's early HAVE, checked once the application told the size.
        var peer = new RawUdpPeer();
        peer.GetRetry();
        peer.Send(peer.Initial(1, (ref SpanWriter w) => HelloAndRequest(ref w, TransferOp.Get, "f", 0)
            && FrameCodec.TryWriteHave(ref w, new (long, long)[] { (0, 2000) }, complete: true)));
        var (c, _) = Assert.Single(peer.Events());
        c.Accept(1000, 1, new MemorySource(new byte[1000]), null, null);
        var close = Assert.Single(peer.Drain().SelectMany(p => p.Frames), f => f.Type == FrameType.Close);
        Assert.Equal((long)TransferError.ProtocolViolation, close.Code);
        Assert.Contains("past the end of the file", close.Text);

        // Client side: an upload whose server lists more than the file.
        var client = Connection.CreateClient(new ConnectionConfig { Security = new UdpSecurity { Insecure = true } }, 5, TransferOp.Put, "f", 1000, 1,
            new MemorySource(new byte[1000]), 0);
        var answer = Ferry.Tests.Fuzz.UdpSeeds.Data(5, 0, (ref SpanWriter w) =>
            FrameCodec.TryWriteAccept(ref w, 99, 1452, 1000, 1) && FrameCodec.TryWriteHave(ref w, new (long, long)[] { (500, 501) }, complete: true));
        Assert.Equal(PacketError.None, Packet.TryParse(answer, out var packet));
        client.HandlePacket(1, packet);
        var events = new List<ConnectionEvent>();
        while (client.TryPollEvent(out var ev))
        {
            events.Add(ev);
        }

        Assert.Contains(events, e => e.Kind == ConnectionEventKind.Closed && e.Code == TransferError.ProtocolViolation && e.Message.Contains("past the end"));
    }

    [Theory]
    [InlineData(1199)]
    [InlineData(1453)]
    public void An_accept_with_a_max_datagram_outside_the_request_s_range_is_a_protocol_violation(int maxDatagram)
    {
        var client = Connection.CreateClient(new ConnectionConfig { Security = new UdpSecurity { Insecure = true } }, 5, TransferOp.Get, "f", 0, 0, null, 0);
        var answer = Ferry.Tests.Fuzz.UdpSeeds.Data(5, 0, (ref SpanWriter w) => FrameCodec.TryWriteAccept(ref w, 99, maxDatagram, 1000, 1));
        Assert.Equal(PacketError.None, Packet.TryParse(answer, out var packet));
        client.HandlePacket(1, packet);
        Assert.True(client.TryPollEvent(out var ev));
        Assert.Equal(ConnectionEventKind.Closed, ev.Kind);
        Assert.Equal(TransferError.ProtocolViolation, ev.Code);
    }
}
