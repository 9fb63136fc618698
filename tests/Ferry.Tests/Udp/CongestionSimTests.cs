using Ferry.Protocol.Udp;
using Ferry.Tests.Udp.Sim;
using Xunit.Abstractions;

namespace Ferry.Tests.Udp;

/// <summary>
/// Congestion control over a simulated bottleneck. Goodput is measured in *simulated* time (fake clock), so these
/// are exact, reproducible outcomes of the algorithm, not wall-clock timing.
/// </summary>
public class CongestionSimTests
{
    private readonly ITestOutputHelper _output;

    public CongestionSimTests(ITestOutputHelper output) => _output = output;

    private (double Mbps, SimResult Result, SimTransfer Sim) Run(string cc, double loss, long oneWayDelay, int sizeBytes, int seed = 21)
    {
        var data = new byte[sizeBytes];
        new Random(seed).NextBytes(data);
        var down = new LinkConfig { Delay = oneWayDelay, RateBps = 100_000_000, QueuePackets = 1000, Loss = loss };
        var up = new LinkConfig { Delay = oneWayDelay, Loss = loss };
        var config = new ConnectionConfig { CongestionControl = cc };
        var sim = new SimTransfer(seed, up, down, config, config);
        sim.ServerFiles["f"] = data;
        var result = sim.RunGet("f", maxSimMicros: 120_000_000);
        Assert.True(result.Completed, result.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);
        double mbps = sizeBytes * 8.0 / result.SimMicros;
        _output.WriteLine($"{cc} loss {loss:P0} rtt {2 * oneWayDelay / 1000} ms: {mbps:F1} Mbit/s, retransmitted {result.ServerStats?.DataBytesRetransmitted} bytes, lost packets {result.ServerStats?.PacketsLost}");
        return (mbps, result, sim);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.05)]
    public void Bbr_keeps_a_lossy_long_link_full(double loss)
    {
        // 30 MB over 100 Mbit/s with 50 ms RTT: about 2.4 s of transfer at line rate.
        var (mbps, result, _) = Run("bbr", loss, 25_000, 30_000_000);
        // Line rate is 100 Mbit/s of IP packets; 1452-byte datagrams carry ~1420 bytes of file each, so the
        // ceiling for file bytes is ~96 Mbit/s. This whole-transfer figure also pays for the handshake, Startup
        // and the final round trips (about 0.5 s of a 3 s transfer), so 73 Mbit/s means a full pipe in between.
        // (Encryption costs ~2.5% of this figure: one more round trip for the key exchange, and a 16-byte tag
        // instead of the 4-byte CRC in every datagram.) A loss-based controller gets a few Mbit/s here (see the
        // NewReno test).
        const double floor = 73;
        Assert.True(mbps >= floor, $"bbr at {loss:P0} loss: {mbps:F1} Mbit/s, expected >= {floor}");
        // Only lost data is resent: retransmitted bytes stay close to the loss rate.
        var retrans = result.ServerStats!.DataBytesRetransmitted;
        Assert.True(retrans <= (loss * 1.5 + 0.01) * 30_000_000, $"retransmitted {retrans} bytes");
    }

    [Fact]
    public void Newreno_is_halved_by_random_loss_where_bbr_is_not()
    {
        var (reno, _, _) = Run("newreno", 0.01, 25_000, 10_000_000);
        var (bbr, _, _) = Run("bbr", 0.01, 25_000, 10_000_000);
        Assert.True(bbr > 2 * reno, $"bbr {bbr:F1} vs newreno {reno:F1} Mbit/s at 1% loss");
    }

    [Fact]
    public void Drop_tail_queue_is_not_flooded()
    {
        // A shallow queue (50 packets, under a third of the 172-packet BDP) on a 100 Mbit/s, 20 ms RTT link.
        // Startup ends on the first sign of a queue (RTT growth, or many drops at the full queue) and a bandwidth
        // probe ends early on queue drops, so few packets are lost: 1.4% in this run (7% before either rule, when
        // Startup's overshoot flooded the queue).
        var data = new byte[20_000_000];
        new Random(5).NextBytes(data);
        var down = new LinkConfig { Delay = 10_000, RateBps = 100_000_000, QueuePackets = 50 };
        var sim = new SimTransfer(5, new LinkConfig { Delay = 10_000 }, down);
        sim.ServerFiles["f"] = data;
        var result = sim.RunGet("f");
        Assert.True(result.Completed, result.ClientMessage);
        double dropRate = (double)sim.Down.QueueDrops / sim.Down.Sent;
        double mbps = data.Length * 8.0 / result.SimMicros;
        _output.WriteLine($"queue drops {sim.Down.QueueDrops}/{sim.Down.Sent} = {dropRate:P2}, {mbps:F1} Mbit/s");
        Assert.True(dropRate < 0.03, $"queue drop rate {dropRate:P2}");
        Assert.True(mbps > 75, $"{mbps:F1} Mbit/s");
    }
}
