using Ferry.Protocol.Udp;
using Ferry.Tests.Udp.Sim;
using Xunit.Abstractions;

namespace Ferry.Tests.Udp;

/// <summary>
/// Flows sharing one simulated bottleneck (fake clock): two Ferry flows must split it fairly, and Ferry must leave
/// a loss-based (TCP-like NewReno) flow a fair part of it. Shares are exact outcomes in simulated time.
/// </summary>
public class CongestionFairnessSimTests
{
    private readonly ITestOutputHelper _output;

    public CongestionFairnessSimTests(ITestOutputHelper output) => _output = output;

    private (double A, double B) Shares(SharedLinkSim sim, long from, long to)
    {
        var a = sim.Flows[0];
        var b = sim.Flows[1];
        long ra = a.ReceivedBetween(from, to), rb = b.ReceivedBetween(from, to);
        double secs = (to - from) / 1e6;
        _output.WriteLine($"window {(from - sim.Start) / 1e6:F1}-{(to - sim.Start) / 1e6:F1} s: flow A {ra * 8 / secs / 1e6:F1} Mbit/s, flow B {rb * 8 / secs / 1e6:F1} Mbit/s, queue drops {sim.Down.QueueDrops}/{sim.Down.Sent}; done at {(a.DoneAt - sim.Start) / 1e6:F1} / {(b.DoneAt - sim.Start) / 1e6:F1} s, B's first data at {(b.FirstDataAt - sim.Start) / 1e6:F1} s");
        return ((double)ra / (ra + rb), (double)rb / (ra + rb));
    }

    [Fact]
    public void Two_ferry_flows_share_the_link_evenly()
    {
        // The WAN matrix's fairness link: 100 Mbit/s, 50 ms RTT, 1% random loss after a 1000-packet drop-tail queue; the
        // second flow starts 0.5 s after the first. Its share starts near a third and converges (ProbeBW drains each
        // probe's queue, so both flows see the path's minimum RTT and size their windows alike): over 20 s of
        // overlap the split must be within the 40-60% target, and together they keep the link full.
        var down = new LinkConfig { Delay = 25_000, RateBps = 100_000_000, QueuePackets = 1000, Loss = 0.01, LossAfterQueue = true };
        var sim = new SharedLinkSim(11, down);
        sim.AddFlow(160_000_000, 0, new LinkConfig { Delay = 25_000 });
        sim.AddFlow(120_000_000, 500_000, new LinkConfig { Delay = 25_000 });
        sim.Run(90_000_000);
        Assert.All(sim.Flows, f => Assert.True(f.Completed, "a flow did not complete"));
        long from = sim.Flows[1].FirstDataAt + 1_500_000, to = Math.Min(sim.Flows[0].DoneAt, sim.Flows[1].DoneAt);
        var (a, b) = Shares(sim, from, to);
        Assert.True(to - from >= 10_000_000, "flows overlapped too briefly to measure");
        Assert.InRange(a, 0.40, 0.60);
        Assert.InRange(b, 0.40, 0.60);
        long both = sim.Flows[0].ReceivedBetween(from, to) + sim.Flows[1].ReceivedBetween(from, to);
        double mbps = both * 8.0 / (to - from);
        Assert.True(mbps >= 88, $"together {mbps:F1} Mbit/s of file data");
    }

    [Fact]
    public void Ferry_leaves_a_loss_based_flow_its_share()
    {
        // A NewReno flow (TCP-like: halves on every loss) joins a running Ferry BBR flow (as bench/wan-matrix.sh
        // starts iperf3 beside a running ferry upload), on a clean
        // 100 Mbit/s, 50 ms RTT link with a 1000-packet (2.4 BDP) queue, where a loss-based flow is at its best.
        var down = new LinkConfig { Delay = 25_000, RateBps = 100_000_000, QueuePackets = 1000 };
        var sim = new SharedLinkSim(12, down);
        sim.AddFlow(40_000_000, 0, new LinkConfig { Delay = 25_000 });
        sim.AddFlow(30_000_000, 500_000, new LinkConfig { Delay = 25_000 }, new ConnectionConfig { CongestionControl = "newreno" });
        sim.Run(60_000_000);
        Assert.All(sim.Flows, f => Assert.True(f.Completed, "a flow did not complete"));
        long from = Math.Max(sim.Start + 2_000_000, sim.Flows[1].FirstDataAt + 1_500_000), to = Math.Min(sim.Flows[0].DoneAt, sim.Flows[1].DoneAt);
        var (_, reno) = Shares(sim, from, to);
        Assert.True(to - from >= 2_000_000, "flows overlapped too briefly to measure");
        Assert.True(reno >= 0.25, $"the loss-based flow kept {reno:P0} of the link");
    }
}
