using Ferry.Protocol.Udp.Congestion;

namespace Ferry.Tests.Udp.Recovery;

/// <summary>
/// BBR and NewReno driven directly by a <see cref="TestSender"/> over a modelled bottleneck: what each controller does
/// with the events it is given, apart from the connection and the simulated network (which the sim tests cover).
/// </summary>
public sealed class CongestionUnitTests
{
    private const long Ms = 1_000;
    private const long Second = 1_000_000;
    private const long Rate = 10_000_000;         // 80 Mbit/s
    private const long RoundTrip = 40 * Ms;
    private const long Bdp = Rate * RoundTrip / Second; // 400 KB

    [Fact]
    public void Bbr_FindsTheBottleneck_LeavesStartup_AndKeepsTheLinkFullWithoutAStandingQueue()
    {
        var bbr = new BbrController(1_200);
        var sender = new TestSender(bbr, Rate, RoundTrip, queueLimitBytes: Bdp);
        var states = new HashSet<BbrController.Mode>();
        long lateMaxRtt = 0;
        sender.AfterAck = rtt =>
        {
            states.Add(bbr.State);
            if (sender.Now > 2 * Second)
            {
                lateMaxRtt = Math.Max(lateMaxRtt, rtt);
            }
        };

        sender.RunUntil(1 * Second);
        long late = sender.RunUntil(4 * Second);

        Assert.Equal(BbrController.Mode.ProbeBandwidth, bbr.State);
        Assert.Contains(BbrController.Mode.Drain, states);
        Assert.InRange(bbr.BottleneckBandwidth, Rate * 9 / 10, Rate * 115 / 100);
        Assert.InRange(late, Rate * 3 * 95 / 100, Rate * 3); // at least 95% of the link over the last 3 s
        Assert.True(lateMaxRtt < RoundTrip * 2, $"a standing queue: RTT up to {lateMaxRtt} µs on a {RoundTrip} µs path");
        Assert.InRange(bbr.CongestionWindow, Bdp, (3 * Bdp) + (16 * 1_200)); // about 2 BDP + an allowance
    }

    [Fact]
    public void Bbr_RandomLoss_DoesNotShrinkIt_WhereNewRenoHalvesAtEveryDrop()
    {
        var bbr = new BbrController(1_200);
        long bbrBytes = Steady(new TestSender(bbr, Rate, RoundTrip, queueLimitBytes: Bdp, randomLoss: 0.01, seed: 7));
        var reno = new NewRenoController(1_200);
        long renoBytes = Steady(new TestSender(reno, Rate, RoundTrip, queueLimitBytes: Bdp, randomLoss: 0.01, seed: 7));

        Assert.True(bbrBytes >= Rate * 3 * 90 / 100, $"bbr moved {bbrBytes} of {Rate * 3} bytes with 1% random loss");
        Assert.True(renoBytes < bbrBytes / 2, $"newreno {renoBytes}, bbr {bbrBytes}");

        static long Steady(TestSender s)
        {
            s.RunUntil(2 * Second);
            return s.RunUntil(5 * Second);
        }
    }

    [Fact]
    public void Bbr_DropsAtAFullQueue_EndStartup_BeforeTheWindowRunsAway()
    {
        // A shallow queue (a tenth of the BDP): Startup overflows it within a round or two and must stop there.
        var bbr = new BbrController(1_200);
        var sender = new TestSender(bbr, Rate, RoundTrip, queueLimitBytes: Bdp / 10);
        sender.RunUntil(1 * Second);
        Assert.NotEqual(BbrController.Mode.Startup, bbr.State);
        long late = sender.RunUntil(3 * Second);
        Assert.True(late >= Rate * 2 * 85 / 100, $"moved {late} of {Rate * 2} bytes behind a shallow queue");
    }

    [Fact]
    public void Bbr_ProbesTheRttAgain_WhenItsMinimumIsOlderThanTenSeconds()
    {
        var bbr = new BbrController(1_200);
        var sender = new TestSender(bbr, Rate, RoundTrip, queueLimitBytes: Bdp);
        sender.RunUntil(2 * Second);

        // The path's delay grows for good: the minimum it measured is never seen again, so after 10 s it must dip
        // its window to re-measure (ProbeRTT), and then trust the new, longer minimum.
        sender.RoundTrip = RoundTrip + (30 * Ms);
        long probeRttWindow = long.MaxValue;
        long enteredAt = 0;
        sender.AfterAck = _ =>
        {
            if (bbr.State == BbrController.Mode.ProbeRtt)
            {
                enteredAt = enteredAt == 0 ? sender.Now : enteredAt;
                probeRttWindow = Math.Min(probeRttWindow, bbr.CongestionWindow);
            }
        };
        sender.RunUntil(14 * Second);

        Assert.InRange(enteredAt, 11 * Second, 13 * Second);
        long newBdp = Rate * (RoundTrip + (30 * Ms)) / Second;
        Assert.True(probeRttWindow <= newBdp, $"ProbeRTT window {probeRttWindow}, BDP {newBdp}");
        Assert.Equal(BbrController.Mode.ProbeBandwidth, bbr.State);
        Assert.InRange(sender.Rtt.Latest, RoundTrip + (30 * Ms), 2 * (RoundTrip + (30 * Ms)));
    }

    [Fact]
    public void NewReno_FillsALosslessLinkWithADeepQueue_AndHalvesOnItsDrops()
    {
        var reno = new NewRenoController(1_200);
        var sender = new TestSender(reno, Rate, RoundTrip, queueLimitBytes: Bdp);
        sender.RunUntil(2 * Second); // slow start overshoots by the round it takes to see its first drops

        long highest = 0, lowest = long.MaxValue;
        sender.AfterAck = _ =>
        {
            highest = Math.Max(highest, reno.CongestionWindow);
            lowest = Math.Min(lowest, reno.CongestionWindow);
        };
        long late = sender.RunUntil(32 * Second);

        // With a queue of one BDP, halving at each drop still leaves the link busy: the classic sawtooth between
        // about one and two BDPs (the path holds 2 BDP: the pipe and the queue), one datagram more per round trip,
        // so one tooth takes some 300 round trips here.
        Assert.True(late >= Rate * 30 * 90 / 100, $"moved {late} of {Rate * 30}");
        Assert.True(highest <= (2 * Bdp) + (64 * 1_200), $"window reached {highest} with 2 BDP of room");
        Assert.True(lowest >= Bdp / 2 && lowest < highest * 6 / 10, $"window between {lowest} and {highest}");
        Assert.InRange(reno.CongestionWindow, Bdp / 2, (2 * Bdp) + (64 * 1_200));
    }
}
