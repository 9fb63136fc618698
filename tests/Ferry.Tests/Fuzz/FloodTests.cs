using System.Security.Cryptography;
using Ferry.Protocol.Common;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Protocol.Zmq;
using Ferry.Tests.Support;
using Xunit.Abstractions;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// Every queue a peer can grow has a fixed bound, and a peer that goes past it is cut off. Each test floods one
/// queue well past its bound and checks both the bound and the managed heap (GC.GetTotalMemory(true) before and
/// after, references kept alive), so these run alone.
/// </summary>
[Collection(SerialCollection.Name)]
public class FloodTests
{
    private readonly ITestOutputHelper _output;

    public FloodTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Udp_out_of_order_data_past_the_range_bound_closes_the_connection_with_flow_control()
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var h = new UdpFloodHarness();
        var c = h.Open(1, new PeerAddress(0x7F000001, 1000), TransferOp.Put, 64L << 20)!;
        byte[] one = [0xAB];
        long offset = 1;
        int packets = 0;
        while (c.State == ConnectionState.Established && packets < 10_000)
        {
            h.Send(c, (ref SpanWriter w) => UdpFloodHarness.WriteScatteredData(ref w, ref offset, one));
            packets++;
        }

        long after = GC.GetTotalMemory(forceFullCollection: true);
        var closed = h.ClosedEvent(c);
        Assert.NotNull(closed);
        Assert.Equal(TransferError.FlowControl, closed!.Code);
        long ranges = (offset - 1) / 2;
        Assert.InRange(ranges, new ConnectionConfig().MaxDataRanges, new ConnectionConfig().MaxDataRanges + 300);
        Report("udp out-of-order ranges", $"{ranges:N0} one-byte DATA frames in {packets} packets", before, after);
        Assert.True(after - before < 8 << 20, $"heap grew by {after - before:N0} bytes");
        GC.KeepAlive(h);
    }

    [Fact]
    public void Udp_acks_of_every_other_packet_past_the_range_bound_close_the_sending_connection()
    {
        const int bound = 128;
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var h = new UdpFloodHarness(new ConnectionConfig { MaxDataRanges = bound, CongestionControl = "newreno", InitialWindowPackets = 1000 });
        long size = 1L << 30;
        var c = h.Open(2, new PeerAddress(0x7F000002, 1000), TransferOp.Get, size)!;
        h.Drain();
        h.Send(c, (ref SpanWriter w) => FrameCodec.TryWriteHave(ref w, ReadOnlySpan<(long, long)>.Empty, false) && FrameCodec.TryWriteMaxData(ref w, size));
        var scratch = new AckRange[FrameCodec.MaxAckRanges + 1];
        long chunk = 1000;
        var seen = new HashSet<long>();
        int steps = 0;
        while (c.State == ConnectionState.Established && steps++ < 20_000)
        {
            // Acknowledge the packets carrying every other chunk of the file (by offset, so retransmissions of the
            // others are never acknowledged and the holes stay), 200 ranges per ACK frame.
            var pns = new List<ulong>();
            foreach (var d in h.Drain(2048))
            {
                Assert.Equal(PacketError.None, Packet.TryParse(d, out var p));
                var r = new SpanReader(p.Payload);
                bool ack = true;
                while (!r.End && FrameCodec.TryRead(ref r, scratch, out var f))
                {
                    // Skip first transmissions of odd chunks; acknowledge retransmissions so new data keeps flowing.
                    if (f.Type == FrameType.Data && seen.Add(f.Offset) && (f.Offset / chunk) % 2 == 1)
                    {
                        ack = false;
                    }
                }

                if (ack)
                {
                    pns.Add(p.PacketNumber);
                }
            }

            // Consecutive packet numbers form one range; ranges go highest first.
            var all = new List<AckRange>();
            foreach (ulong pn in pns)
            {
                if (all.Count > 0 && all[^1].Largest + 1 == pn)
                {
                    all[^1] = all[^1] with { Largest = pn };
                }
                else
                {
                    all.Add(new AckRange(pn, pn));
                }
            }

            all.Reverse();
            for (int i = 0; i < all.Count; i += 200)
            {
                var ranges = all.Skip(i).Take(200).ToArray();
                h.Send(c, (ref SpanWriter w) => FrameCodec.TryWriteAck(ref w, ranges, 0));
            }

            h.Now += 5_000;
            h.Server.HandleTimeouts(h.Now);
        }

        long after = GC.GetTotalMemory(forceFullCollection: true);
        var closed = h.ClosedEvent(c);
        Assert.True(closed is not null, $"state {c.State} after {steps} rounds, {c.Stats.PacketsSent} sent");
        Assert.Equal(TransferError.FlowControl, closed!.Code);
        Report("udp acknowledged ranges (bound 128)", $"{c.Stats.PacketsSent:N0} packets sent in {steps} rounds", before, after);
        Assert.True(after - before < 8 << 20, $"heap grew by {after - before:N0} bytes");
        GC.KeepAlive(h);
    }

    [Fact]
    public void Udp_connections_per_address_and_in_total_are_bounded()
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var h = new UdpFloodHarness();
        var one = new PeerAddress(0x7F000003, 0);
        int opened = 0;
        for (int i = 0; i < 200; i++)
        {
            // Different ports of one address count together.
            if (h.Open((ulong)(100 + i), one with { Port = (ushort)(2000 + i) }, TransferOp.Put, 1000) is not null)
            {
                opened++;
            }
        }

        Assert.Equal(ServerEndpoint.DefaultMaxConnectionsPerAddress, opened);
        Assert.Equal(200 - opened, h.Refusals);

        // Another address still gets in; the total bound holds over many addresses.
        Assert.NotNull(h.Open(999, new PeerAddress(0x7F000004, 1), TransferOp.Put, 1000));
        for (int a = 0; a < 40; a++)
        {
            for (int i = 0; i < ServerEndpoint.DefaultMaxConnectionsPerAddress; i++)
            {
                h.Open((ulong)(10_000 + (a * 100) + i), new PeerAddress((UInt128)(0x0A000000 + a), (ushort)i), TransferOp.Put, 1000);
            }
        }

        Assert.Equal(ServerEndpoint.DefaultMaxConnections, h.Server.Connections.Count);
        long full = GC.GetTotalMemory(forceFullCollection: true);
        Report("udp connections (1024 total, 64 per address)", $"{h.Refusals:N0} refused, {h.Server.Connections.Count} open", before, full);
        Assert.True(full - before < 64 << 20, $"heap grew by {full - before:N0} bytes");

        // Closing connections frees their address's slots.
        foreach (var c in h.Server.Connections.Where(c => c.Peer.Address == one.Address).ToList())
        {
            c.Close(TransferError.Cancelled, "test", h.Now);
        }

        h.Now += 60_000_000;
        h.Server.HandleTimeouts(h.Now);
        h.Drain();
        while (h.Server.TryPollEvent(out _, out _))
        {
        }

        h.Server.Sweep();
        Assert.NotNull(h.Open(5000, one, TransferOp.Put, 1000));
        GC.KeepAlive(h);
    }

    [Fact]
    public void Zmq_scattered_chunks_past_the_range_bound_are_refused_and_contiguous_ones_still_accepted()
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var session = new ZmqUploadSession("f", TimeSpan.FromSeconds(60));
        var now = TimeSpan.FromSeconds(1);
        long seq = 0;
        ZmqStep Chunk(long offset, byte[] data)
        {
            var arrival = new ZmqArrival(seq, seq);
            seq++;
            var step = session.OnChunk(now, arrival, offset, Sha256Digest.Of(data), data);
            if (step.Kind == ZmqStepKind.Write)
            {
                session.OnChunkWritten(now, offset, data.Length, null);
            }

            return step;
        }

        Assert.Equal(ZmqStepKind.AcquireFile, session.OnHello(now, new ZmqArrival(seq, seq++)).Kind);
        Assert.True(session.OnHelloResult(now, null).IsReady);
        byte[] one = [1];
        int refused = 0;
        for (long i = 0; i < ZmqLimits.MaxRangesPerTransfer + 1000; i++)
        {
            if (Chunk((2 * i) + 1, one).Kind != ZmqStepKind.Write)
            {
                refused++;
            }
        }

        Assert.Equal(ZmqLimits.MaxRangesPerTransfer, session.Received.Count);
        Assert.Equal(1000, refused);

        // A chunk that touches a held range merges and is accepted.
        Assert.Equal(ZmqStepKind.Write, Chunk(0, one).Kind);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Report("zmq ranges per transfer", $"{ZmqLimits.MaxRangesPerTransfer + 1000:N0} scattered chunks", before, after);
        Assert.True(after - before < 8 << 20, $"heap grew by {after - before:N0} bytes");
        GC.KeepAlive(session);
    }

    private void Report(string queue, string flood, long before, long after) =>
        _output.WriteLine($"FLOOD {queue}: {flood}; managed heap {before:N0} -> {after:N0} bytes (+{after - before:N0})");
}
