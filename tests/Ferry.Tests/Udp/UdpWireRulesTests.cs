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
}
