using Ferry.Protocol.Udp;
using Ferry.Tests.Udp.Sim;
using Xunit.Abstractions;

namespace Ferry.Tests.Udp;

/// <summary>
/// Rate limits over the simulated network (fake clock): the data sender holds the file data it puts on the wire to the
/// limit in force, whoever sends (the server for a GET, the client for a PUT), with and without loss; the server's
/// limit reaches the client and wins over a larger request, also when it changes mid-transfer.
/// </summary>
public class RateLimitSimTests
{
    private const long Limit = 40_000_000;
    private readonly ITestOutputHelper _output;

    public RateLimitSimTests(ITestOutputHelper output) => _output = output;

    private static byte[] File(int size)
    {
        var data = new byte[size];
        new Random(5).NextBytes(data);
        return data;
    }

    private static SimTransfer Sim(double loss, int seed = 11)
    {
        // A 100 Mbit/s path with 20 ms of round trip: the limit, not the path, must hold the transfer back.
        var down = new LinkConfig { Delay = 10_000, RateBps = 100_000_000, QueuePackets = 1000, Loss = loss, LossAfterQueue = true };
        var up = new LinkConfig { Delay = 10_000, RateBps = 100_000_000, QueuePackets = 1000, Loss = loss, LossAfterQueue = true };
        return new SimTransfer(seed, up, down);
    }

    /// <summary>Samples a byte counter every simulated millisecond from the first byte on.</summary>
    private sealed class Meter(Func<SimTransfer, long> read)
    {
        public List<(long Time, long Bytes)> Samples { get; } = new();

        public void Step(SimTransfer s)
        {
            long bytes = read(s);
            if (bytes == 0)
            {
                return;
            }

            if (Samples.Count == 0 || s.Now - Samples[^1].Time >= 1_000)
            {
                Samples.Add((s.Now, bytes));
            }
        }

        public long At(long t) => Samples.LastOrDefault(p => p.Time <= t).Bytes;

        /// <summary>Bit/s over each whole second from the first sample.</summary>
        public List<double> PerSecond()
        {
            var rates = new List<double>();
            long t0 = Samples[0].Time;
            for (long t = t0; t + 1_000_000 <= Samples[^1].Time; t += 1_000_000)
            {
                rates.Add((At(t + 1_000_000) - At(t)) * 8.0);
            }

            return rates;
        }

        /// <summary>Bit/s from the first sample to the last.</summary>
        public double Whole => (Samples[^1].Bytes - Samples[0].Bytes) * 8.0 * 1_000_000 / (Samples[^1].Time - Samples[0].Time);
    }

    private void AssertHeld(Meter meter, long limit, string what)
    {
        var seconds = meter.PerSecond();
        _output.WriteLine($"{what}: whole {meter.Whole / 1e6:F2} Mbit/s; per second {string.Join(", ", seconds.Select(r => (r / 1e6).ToString("F2")))}");
        Assert.InRange(meter.Whole, 0.95 * limit, 1.05 * limit);
        Assert.True(seconds.Count >= 3, $"{what}: too short to measure per second");
        Assert.All(seconds, r => Assert.InRange(r, 0.90 * limit, 1.10 * limit));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.03)]
    public void Download_is_held_to_the_limit_by_the_server(double loss)
    {
        var data = File(25 << 20);
        var sim = Sim(loss);
        sim.ServerFiles["f"] = data;
        sim.RateLimit = Limit;
        sim.ServerRateLimit = ev => ev.RateLimit ?? 0;
        var goodput = new Meter(s => s.ClientSink?.BytesWritten ?? 0);
        var wire = new Meter(s => s.Server.Connections.FirstOrDefault()?.Stats.DataBytesSent ?? 0);
        sim.OnStep = s =>
        {
            goodput.Step(s);
            wire.Step(s);
        };

        var r = sim.RunGet("f", maxSimMicros: 60_000_000);

        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.True(sim.Client!.RateLimitConfirmed);
        Assert.Equal(Limit, sim.Client.RateLimit);
        AssertHeld(goodput, Limit, $"GET, {loss:P0} loss, goodput");
        AssertHeld(wire, Limit, $"GET, {loss:P0} loss, data on the wire");
        Assert.All(wire.PerSecond(), r => Assert.True(r <= 1.01 * Limit, $"{r / 1e6:F2} Mbit/s of data sent in a second"));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void Upload_is_held_to_the_limit_by_the_client(double loss)
    {
        var data = File(25 << 20);
        var sim = Sim(loss);
        sim.RateLimit = Limit;
        sim.ServerRateLimit = ev => ev.RateLimit ?? 0;
        var goodput = new Meter(s => s.Uploads.Values.FirstOrDefault()?.BytesWritten ?? 0);
        var wire = new Meter(s => s.Client?.Stats.DataBytesSent ?? 0);
        sim.OnStep = s =>
        {
            goodput.Step(s);
            wire.Step(s);
        };

        var r = sim.RunPut("f", data, maxSimMicros: 60_000_000);

        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, sim.Uploads["f"].Data);
        AssertHeld(goodput, Limit, $"PUT, {loss:P0} loss, goodput");
        Assert.All(wire.PerSecond(), r => Assert.True(r <= 1.01 * Limit, $"{r / 1e6:F2} Mbit/s of data sent in a second"));
    }

    [Fact]
    public void The_servers_cap_wins_over_a_larger_request_and_reaches_the_uploading_client()
    {
        var data = File(15 << 20);
        var sim = Sim(0.005);
        sim.RateLimit = 80_000_000;
        sim.ServerRateLimit = ev => Math.Min(ev.RateLimit is > 0 and var asked ? asked : long.MaxValue, Limit);
        var goodput = new Meter(s => s.Uploads.Values.FirstOrDefault()?.BytesWritten ?? 0);
        sim.OnStep = goodput.Step;

        var r = sim.RunPut("f", data, maxSimMicros: 60_000_000);

        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(80_000_000, sim.ServerEvents.Single(e => e.Kind == ConnectionEventKind.RequestReceived).RateLimit);
        Assert.True(sim.Client!.RateLimitConfirmed);
        Assert.Equal(Limit, sim.Client.RateLimit);
        AssertHeld(goodput, Limit, "PUT asking 80M under a 40M cap");
    }

    [Fact]
    public void A_client_without_a_limit_of_its_own_is_told_the_servers_cap()
    {
        var data = File(15 << 20);
        var sim = Sim(0);
        sim.ServerFiles["f"] = data;
        sim.RateLimit = 0;
        sim.ServerRateLimit = _ => Limit;
        var goodput = new Meter(s => s.ClientSink?.BytesWritten ?? 0);
        sim.OnStep = goodput.Step;

        var r = sim.RunGet("f", maxSimMicros: 60_000_000);

        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(0, sim.ServerEvents.Single(e => e.Kind == ConnectionEventKind.RequestReceived).RateLimit);
        Assert.Equal(Limit, sim.Client!.RateLimit);
        AssertHeld(goodput, Limit, "GET without a limit under a 40M cap");
    }

    [Fact]
    public void A_cap_lowered_mid_upload_slows_the_client_within_a_round_trip()
    {
        var data = File(20 << 20);
        var sim = Sim(0.01);
        sim.RateLimit = 0;
        sim.ServerRateLimit = _ => Limit;
        var goodput = new Meter(s => s.Uploads.Values.FirstOrDefault()?.BytesWritten ?? 0);
        long? loweredAt = null;
        sim.OnStep = s =>
        {
            goodput.Step(s);
            if (loweredAt is null && goodput.Samples.Count > 0 && s.Now - goodput.Samples[0].Time >= 2_000_000)
            {
                // Another transfer started: the server's share for this one halves.
                s.Server.Connections.Single().SetRateLimit(Limit / 2);
                loweredAt = s.Now;
            }
        };

        var r = sim.RunPut("f", data, maxSimMicros: 60_000_000);

        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(Limit / 2, sim.Client!.RateLimit);
        long t = loweredAt!.Value;
        double before = (goodput.At(t) - goodput.At(t - 1_000_000)) * 8.0;
        double after = (goodput.At(t + 1_100_000) - goodput.At(t + 100_000)) * 8.0;
        double later = (goodput.At(t + 2_100_000) - goodput.At(t + 1_100_000)) * 8.0;
        _output.WriteLine($"before {before / 1e6:F2}, after {after / 1e6:F2}, later {later / 1e6:F2} Mbit/s");
        Assert.InRange(before, 0.90 * Limit, 1.10 * Limit);
        Assert.InRange(after, 0.90 * Limit / 2, 1.10 * Limit / 2);
        Assert.InRange(later, 0.90 * Limit / 2, 1.10 * Limit / 2);
    }

    [Fact]
    public void A_server_that_never_answers_the_frame_serves_unlimited_and_the_client_can_tell()
    {
        var data = File(4 << 20);
        var sim = Sim(0);
        sim.ServerFiles["f"] = data;
        sim.RateLimit = Limit;
        sim.ServerRateLimit = null;

        var r = sim.RunGet("f", maxSimMicros: 60_000_000);

        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.False(sim.Client!.RateLimitConfirmed);
        Assert.Equal(0, sim.Client.RateLimit);
    }
}
