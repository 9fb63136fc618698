using Ferry.Protocol.Udp;
using Ferry.Tests.Udp.Sim;
using Xunit.Abstractions;

namespace Ferry.Tests.Udp;

/// <summary>
/// The WAN matrix's targets (docs/PERFORMANCE.md) in the simulated network (fake clock, exact and reproducible): random loss happens on the
/// wire after the 100 Mbit/s bottleneck, as on bench/WanEmu's links. Goodput here is file bytes per simulated second
/// while the transfer is in full flight (after the ramp, before the last round trips), so a 40 MiB transfer can
/// stand for the bench's 256 MiB one; bench/wan-matrix.sh measures the whole command on the emulator.
/// </summary>
public class CongestionTargetSimTests
{
    private const int Size = 40 << 20;
    private readonly ITestOutputHelper _output;

    public CongestionTargetSimTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(25_000, 0.00, 1000, 93)]
    [InlineData(25_000, 0.01, 1000, 93)]
    [InlineData(25_000, 0.05, 1000, 88)]
    [InlineData(25_000, 0.10, 1000, 80)]
    [InlineData(100_000, 0.01, 2000, 93)]
    public void Lossy_link_is_kept_full(long oneWayDelay, double loss, int queue, double target)
    {
        var data = new byte[Size];
        new Random(3).NextBytes(data);
        var down = new LinkConfig { Delay = oneWayDelay, RateBps = 100_000_000, QueuePackets = queue, Loss = loss, LossAfterQueue = true };
        var sim = new SimTransfer(7, new LinkConfig { Delay = oneWayDelay, Loss = loss }, down);
        sim.Down.BucketMicros = 100_000;
        sim.Down.Origin = sim.Now;
        sim.ServerFiles["f"] = data;
        var progress = new List<(long Time, long Bytes)>();
        long start = sim.Now;
        sim.OnStep = s =>
        {
            if (s.ClientSink is { } sink && (progress.Count == 0 || s.Now - progress[^1].Time >= 10_000))
            {
                progress.Add((s.Now - start, sink.BytesWritten));
            }
        };
        var r = sim.RunGet("f", maxSimMicros: 120_000_000);
        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);

        // In full flight: from one second after the link first carried 90% of its rate to 2 RTT before the end.
        int t90 = sim.Down.Timeline.FindIndex(b => b >= 0.9 * 100_000_000 / 8 / 10);
        long from = (t90 + 1) * 100_000 + 1_000_000;
        long to = sim.ClientClosedMicros - 4 * oneWayDelay;
        long At(long t) => progress.LastOrDefault(p => p.Time <= t).Bytes;
        double steady = (At(to) - At(from)) * 8.0 / (to - from);
        double whole = Size * 8.0 / sim.ClientClosedMicros;
        var stats = r.ServerStats!;
        long lostData = (sim.Down.Dropped + sim.Down.QueueDrops) * (stats.DataBytesSent / stats.PacketsSent);
        double excess = (double)(stats.DataBytesRetransmitted - lostData) / Size;
        _output.WriteLine($"{oneWayDelay * 2 / 1000} ms RTT, {loss:P0} loss: in flight {steady:F1} Mbit/s, whole transfer {whole:F1}, "
            + $"90% of the link after {(t90 + 1) / 10.0:F1} s, queue drops {sim.Down.QueueDrops}, excess retransmission {excess:P2}");

        Assert.True(steady >= target, $"{steady:F1} Mbit/s in full flight, target {target}");
        Assert.True(excess < 0.02, $"excess retransmission {excess:P2}");
        Assert.True(t90 >= 0 && (t90 + 1) * 100_000 <= 2_000_000, $"90% of the link after {(t90 + 1) / 10.0:F1} s");
    }

    /// <summary>
    /// The real listener answers a process's first request tens of milliseconds late (opening files, a cold JIT). That
    /// request's round trip once ended an upload's Startup at a few kbit/s (the emulated WAN took 2-3 s to reach the
    /// link rate on uploads, 0.5 s on downloads): handshake and request packets must not count as a full pipe.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_server_that_answers_the_request_late_does_not_end_startup(bool upload)
    {
        var data = new byte[16 << 20];
        new Random(5).NextBytes(data);
        var bottleneck = new LinkConfig { Delay = 25_000, RateBps = 100_000_000, QueuePackets = 1000, LossAfterQueue = true };
        var plain = new LinkConfig { Delay = 25_000 };
        var sim = upload ? new SimTransfer(11, bottleneck, plain) : new SimTransfer(11, plain, bottleneck);
        sim.ServerRequestDelay = 40_000;
        var link = upload ? sim.Up : sim.Down;
        link.BucketMicros = 100_000;
        link.Origin = sim.Now;
        sim.ServerFiles["f"] = data;
        var r = upload ? sim.RunPut("f", data, maxSimMicros: 60_000_000) : sim.RunGet("f", maxSimMicros: 60_000_000);
        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, upload ? sim.Uploads["f"].Data : sim.ClientSink!.Data);

        int t90 = link.Timeline.FindIndex(b => b >= 0.9 * 100_000_000 / 8 / 10);
        _output.WriteLine($"{(upload ? "upload" : "download")}: 90% of the link after {(t90 + 1) / 10.0:F1} s; "
            + string.Join(" ", link.Timeline.Take(12).Select(b => (b * 8 / 100_000.0).ToString("F0"))));
        Assert.True(t90 >= 0 && (t90 + 1) * 100_000 <= 700_000, $"90% of the link after {(t90 + 1) / 10.0:F1} s");
    }
}
