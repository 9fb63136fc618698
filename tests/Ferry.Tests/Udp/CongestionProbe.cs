using Ferry.Protocol.Udp;
using Ferry.Tests.Udp.Sim;
using Xunit.Abstractions;

namespace Ferry.Tests.Udp;

public class CongestionProbe
{
    private readonly ITestOutputHelper _output;

    public CongestionProbe(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(100, 25_000, 0.0, 1000)]
    [InlineData(100, 25_000, 0.01, 1000)]
    [InlineData(100, 25_000, 0.05, 1000)]
    [InlineData(100, 100_000, 0.01, 2000)]
    [InlineData(100, 25_000, 0.10, 1000)]
    [InlineData(500, 5_000, 0.005, 2000)]
    [InlineData(100, 10_000, 0.0, 50)]
    public void Probe(int mbit, long delay, double loss, int queue)
    {
        if (Environment.GetEnvironmentVariable("FERRY_CC_PROBE") is not { } sizeMb)
        {
            return;
        }

        int size = int.Parse(sizeMb) << 20;
        var data = new byte[size];
        new Random(3).NextBytes(data);
        var down = new LinkConfig { Delay = delay, RateBps = mbit * 1_000_000L, QueuePackets = queue, Loss = loss, LossAfterQueue = true };
        var up = new LinkConfig { Delay = delay, Loss = loss };
        var sim = new SimTransfer(7, up, down);
        sim.Down.BucketMicros = 100_000;
        sim.Down.Origin = sim.Now;
        sim.ServerFiles["f"] = data;
        var trace = new List<string>();
        long nextTrace = 0;
        if (Environment.GetEnvironmentVariable("FERRY_CC_TRACE") is not null)
        {
            var ccField = typeof(Connection).GetField("_cc", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
            sim.OnStep = s =>
            {
                if (s.Now < nextTrace || s.Server.Connections.Count == 0)
                {
                    return;
                }

                nextTrace = s.Now + 50_000;
                if (ccField.GetValue(s.Server.Connections.First()) is Ferry.Protocol.Udp.Congestion.BbrController b)
                {
                    trace.Add($"{(s.Now - sim.Down.Origin) / 1000}ms {b.State} bw {b.BottleneckBandwidth * 8 / 1_000_000} pace {b.PacingRate * 8 / 1_000_000} cwnd {b.CongestionWindow / 1452}");
                }
            };
        }

        var r = sim.RunGet("f", maxSimMicros: 600_000_000, maxSteps: 50_000_000);
        Assert.True(r.Completed, r.ClientMessage);
        double mbps = size * 8.0 / sim.ClientClosedMicros;
        long cap = mbit * 1_000_000L / 8 / 10;
        int t90 = sim.Down.Timeline.FindIndex(b => b >= 0.9 * cap);
        double ceiling = mbit * (1 - loss) * 1417.0 / 1480;
        var s = r.ServerStats!;
        if (Environment.GetEnvironmentVariable("FERRY_CC_TIMELINE") is not null)
        {
            _output.WriteLine($"PROBE {mbit}M/{delay / 1000}ms/{loss:P1} timeline: " + string.Join(" ", sim.Down.Timeline.Take(30).Concat(sim.Down.Timeline.Skip(Math.Max(30, sim.Down.Timeline.Count - 15))).Select(b => (100 * b / cap).ToString())));
        }

        foreach (var t in trace.Take(80))
        {
            _output.WriteLine($"PROBE {mbit}M/{delay / 1000}ms/{loss:P1}/{queue} trace {t}");
        }

        _output.WriteLine($"PROBE {mbit}M/{delay / 1000}ms/{loss:P1}/{queue}: {mbps:F1} Mbit/s (ceiling {ceiling:F1}, {100 * mbps / ceiling:F1}%), t {sim.ClientClosedMicros / 1e6:F2} s (sim end {r.SimMicros / 1e6:F2}), to90 {(t90 + 1) * 0.1:F1} s, link busy until {sim.Down.Timeline.Count * 0.1:F1} s, qdrops {sim.Down.QueueDrops} ({100.0 * sim.Down.QueueDrops / sim.Down.Sent:F2}%), lost {sim.Down.Dropped}, retrans {100.0 * s.DataBytesRetransmitted / size:F2}%, pkts {s.PacketsSent}, pto {s.ProbeTimeouts}");
    }
}
