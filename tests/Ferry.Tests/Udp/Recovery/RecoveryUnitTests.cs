using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Congestion;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Udp.Recovery;

/// <summary>
/// The RTT estimator, the ACK tracker and NewReno driven directly, one event at a time, with the numbers RFC 9002
/// gives (sections 5, 7 and 13.2), without a connection or a simulated network around them.
/// </summary>
public sealed class RecoveryUnitTests
{
    private const long Ms = 1_000;
    private const int Mss = 1_200;

    [Fact]
    public void Rtt_BeforeAnySample_UsesTheInitialRtt()
    {
        var rtt = new RttEstimator(333 * Ms);
        Assert.False(rtt.HasSample);
        Assert.Equal(333 * Ms, rtt.Smoothed);
        Assert.Equal(333 * Ms / 2, rtt.Variance);
        Assert.Equal(333 * Ms, rtt.MinOrInitial);
        Assert.Equal((333 * Ms) + (4 * (333 * Ms / 2)) + (25 * Ms), rtt.ProbeTimeout(25 * Ms));
    }

    [Fact]
    public void Rtt_FirstSampleSetsEverything_LaterOnesAreSmoothed_AckDelaySubtractedOnlyAboveTheMinimum()
    {
        var rtt = new RttEstimator(333 * Ms);
        rtt.Update(100 * Ms, ackDelay: 20 * Ms); // the first sample is taken whole, ack delay or not
        Assert.Equal(100 * Ms, rtt.Smoothed);
        Assert.Equal(50 * Ms, rtt.Variance);
        Assert.Equal(100 * Ms, rtt.Min);

        // 120 ms with 10 ms of ack delay: 110 ms counts (it stays above the 100 ms minimum).
        rtt.Update(120 * Ms, ackDelay: 10 * Ms);
        Assert.Equal(((7 * 100 * Ms) + (110 * Ms)) / 8, rtt.Smoothed);
        Assert.Equal(((3 * 50 * Ms) + (10 * Ms)) / 4, rtt.Variance);
        Assert.Equal(120 * Ms, rtt.Latest);

        // 105 ms with 10 ms of ack delay would be 95 ms, below the minimum: the sample counts whole.
        long smoothed = rtt.Smoothed;
        rtt.Update(105 * Ms, ackDelay: 10 * Ms);
        Assert.Equal(((7 * smoothed) + (105 * Ms)) / 8, rtt.Smoothed);
        Assert.Equal(100 * Ms, rtt.Min);
    }

    [Fact]
    public void Rtt_MinimumIsTheLowestRawSample_AndLossDelayIsNineEighthsOfTheLarger()
    {
        var rtt = new RttEstimator(333 * Ms);
        rtt.Update(80 * Ms, 0);
        rtt.Update(60 * Ms, ackDelay: 50 * Ms);
        Assert.Equal(60 * Ms, rtt.Min);
        rtt.Update(200 * Ms, 0);
        Assert.Equal(9 * Math.Max(rtt.Smoothed, 200 * Ms) / 8, rtt.LossDelay);

        var tiny = new RttEstimator(10);
        tiny.Update(10, 0);
        Assert.Equal(RttEstimator.Granularity, tiny.LossDelay);
        Assert.Equal(10 + RttEstimator.Granularity, tiny.ProbeTimeout(0));
    }

    [Fact]
    public void Ack_InOrderPackets_AreAcknowledgedEverySecondOne_OrAfterTheMaxDelay()
    {
        var ack = new AckTracker(ackEveryPackets: 2, maxAckDelay: 25 * Ms);
        Assert.True(ack.OnPacket(0, now: 1_000, ackEliciting: true, urgent: false));
        Assert.False(ack.IsDue(1_000));
        Assert.Equal(1_000 + (25 * Ms), ack.Deadline);
        Assert.True(ack.IsDue(1_000 + (25 * Ms)));

        Assert.True(ack.OnPacket(1, now: 2_000, ackEliciting: true, urgent: false));
        Assert.True(ack.IsDue(2_000)); // the second ack-eliciting packet
        Assert.Equal([new AckRange(0, 1)], Write(ack, 2_500, out ulong delay));
        Assert.Equal(500UL, delay); // since the largest arrived
        Assert.False(ack.HasPending);
        Assert.Equal(long.MaxValue, ack.Deadline);
    }

    [Fact]
    public void Ack_OnlyAckElicitingPacketsStartTheTimer_UrgentOnesAndGapsAreAcknowledgedAtOnce()
    {
        var ack = new AckTracker(ackEveryPackets: 10, maxAckDelay: 25 * Ms);
        ack.OnPacket(0, 0, ackEliciting: false, urgent: false);
        Assert.False(ack.HasPending);
        Assert.Equal(long.MaxValue, ack.Deadline);

        ack.OnPacket(1, 0, ackEliciting: true, urgent: true);
        Assert.True(ack.IsDue(0));
        Write(ack, 0, out _);

        ack.OnPacket(3, 0, ackEliciting: true, urgent: false); // 2 is missing
        Assert.True(ack.IsDue(0));
        Assert.Equal([new AckRange(3, 3), new AckRange(0, 1)], Write(ack, 0, out _));
    }

    [Fact]
    public void Ack_Duplicate_IsIgnoredButAcknowledgedAgain()
    {
        var ack = new AckTracker(ackEveryPackets: 10, maxAckDelay: 25 * Ms);
        ack.OnPacket(0, 0, ackEliciting: true, urgent: true);
        Write(ack, 0, out _);

        Assert.False(ack.OnPacket(0, 5, ackEliciting: true, urgent: false));
        Assert.True(ack.IsDue(5)); // our ACK may have been lost
        Assert.Equal([new AckRange(0, 0)], Write(ack, 5, out _));
    }

    [Fact]
    public void Ack_KeepsTheNewest32Ranges_AndRefusesPacketsBelowWhatItForgot()
    {
        var ack = new AckTracker(ackEveryPackets: 1, maxAckDelay: 25 * Ms);
        for (ulong pn = 0; pn < 2 * (AckTracker.MaxRanges + 5); pn += 2)
        {
            Assert.True(ack.OnPacket(pn, 0, ackEliciting: true, urgent: false));
        }

        var ranges = Write(ack, 0, out _);
        Assert.Equal(AckTracker.MaxRanges, ranges.Length);
        Assert.Equal(new AckRange(2 * (AckTracker.MaxRanges + 4), 2 * (AckTracker.MaxRanges + 4)), ranges[0]);
        ulong oldestKept = ranges[^1].Smallest;
        Assert.Equal(10UL, oldestKept);

        Assert.False(ack.OnPacket(1, 0, ackEliciting: true, urgent: false)); // below the oldest range kept: refused
        Assert.True(ack.OnPacket(oldestKept + 1, 0, ackEliciting: true, urgent: false)); // above it: a gap filled
    }

    [Fact]
    public void Ack_FrameTooLargeForThePacket_DropsTheOldestRanges()
    {
        var ack = new AckTracker(ackEveryPackets: 1, maxAckDelay: 25 * Ms);
        for (ulong pn = 0; pn < 40; pn += 2)
        {
            ack.OnPacket(pn, 0, ackEliciting: true, urgent: false);
        }

        var buffer = new byte[12];
        var w = new SpanWriter(buffer);
        Assert.True(ack.TryWrite(ref w, 0));
        var r = new SpanReader(w.Written);
        var scratch = new AckRange[64];
        Assert.True(FrameCodec.TryRead(ref r, scratch, out var frame));
        Assert.InRange(frame.AckRangeCount, 1, 5);
        Assert.Equal(38UL, frame.LargestAcked); // the newest ranges are the ones kept
    }

    [Fact]
    public void NewReno_SlowStart_GrowsByWhatIsAcknowledged()
    {
        var cc = new NewRenoController(Mss, initialWindowPackets: 10);
        Assert.Equal(10L * Mss, cc.CongestionWindow);
        cc.OnAck(Ack(now: 100 * Ms, acked: 4 * Mss, sentTime: 10 * Ms));
        Assert.Equal(14L * Mss, cc.CongestionWindow);
    }

    [Fact]
    public void NewReno_HalvesOncePerRecoveryPeriod_AndDoesNotGrowOnPacketsSentBeforeIt()
    {
        var cc = new NewRenoController(Mss, initialWindowPackets: 40);
        cc.OnLoss(now: 1_000 * Ms, lostBytes: Mss, congestiveBytes: Mss, largestLostSentTime: 900 * Ms, bytesInFlight: 0);
        Assert.Equal(20L * Mss, cc.CongestionWindow);

        // More losses of packets sent before the recovery period began: the same congestion event.
        cc.OnLoss(now: 1_010 * Ms, lostBytes: 5 * Mss, congestiveBytes: 5 * Mss, largestLostSentTime: 950 * Ms, bytesInFlight: 0);
        Assert.Equal(20L * Mss, cc.CongestionWindow);

        // ACKs of packets sent before it do not grow the window either.
        cc.OnAck(Ack(now: 1_020 * Ms, acked: 10 * Mss, sentTime: 990 * Ms));
        Assert.Equal(20L * Mss, cc.CongestionWindow);

        // A packet sent after the period began and lost: a new congestion event.
        cc.OnLoss(now: 1_200 * Ms, lostBytes: Mss, congestiveBytes: Mss, largestLostSentTime: 1_100 * Ms, bytesInFlight: 0);
        Assert.Equal(10L * Mss, cc.CongestionWindow);
    }

    [Fact]
    public void NewReno_CongestionAvoidance_AddsOneDatagramPerWindowAcknowledged()
    {
        var cc = new NewRenoController(Mss, initialWindowPackets: 20);
        cc.OnLoss(now: 0, lostBytes: Mss, congestiveBytes: Mss, largestLostSentTime: -1, bytesInFlight: 0);
        long window = cc.CongestionWindow;
        Assert.Equal(10L * Mss, window);

        for (int i = 0; i < 9; i++)
        {
            cc.OnAck(Ack(now: (i + 2) * Ms, acked: Mss, sentTime: (i + 1) * Ms));
        }

        Assert.Equal(window, cc.CongestionWindow); // 9 of 10 datagrams of a window acknowledged
        cc.OnAck(Ack(now: 20 * Ms, acked: Mss, sentTime: 11 * Ms));
        Assert.Equal(window + Mss, cc.CongestionWindow);
    }

    [Fact]
    public void NewReno_NeverGoesBelowTwoDatagrams_AndPacesAtAQuarterAboveWindowPerRtt()
    {
        var cc = new NewRenoController(Mss, initialWindowPackets: 4);
        for (int i = 1; i <= 5; i++)
        {
            cc.OnLoss(now: i * 100 * Ms, lostBytes: Mss, congestiveBytes: Mss, largestLostSentTime: (i * 100 * Ms) - 1, bytesInFlight: 0);
        }

        Assert.Equal(2L * Mss, cc.CongestionWindow);
        cc.OnAck(Ack(now: 1_000 * Ms, acked: 0, sentTime: 0, smoothedRtt: 50 * Ms));
        Assert.Equal((long)(1.25 * 2 * Mss * 1_000_000 / (50 * Ms)), cc.PacingRate);
    }

    private static AckEvent Ack(long now, long acked, long sentTime, long smoothedRtt = 100 * Ms) =>
        new(now, acked, BytesInFlight: 0, LargestAckedSentTime: sentTime, TotalDelivered: 0, Sample: default, MinRtt: smoothedRtt, SmoothedRtt: smoothedRtt);

    private static AckRange[] Write(AckTracker ack, long now, out ulong delay)
    {
        var buffer = new byte[1200];
        var w = new SpanWriter(buffer);
        Assert.True(ack.TryWrite(ref w, now));
        var r = new SpanReader(w.Written);
        var scratch = new AckRange[FrameCodec.MaxAckRanges];
        Assert.True(FrameCodec.TryRead(ref r, scratch, out var frame));
        Assert.Equal(FrameType.Ack, frame.Type);
        delay = frame.AckDelayMicros;
        return scratch.AsSpan(0, frame.AckRangeCount).ToArray();
    }
}
