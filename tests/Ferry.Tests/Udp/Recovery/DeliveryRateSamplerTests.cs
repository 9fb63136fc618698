using Ferry.Protocol.Udp.Recovery;

namespace Ferry.Tests.Udp.Recovery;

/// <summary>Delivery-rate samples: the rate a steady flow delivers, bursts of ACKs, app-limited marking, random-loss credit.</summary>
public sealed class DeliveryRateSamplerTests
{
    private const int Size = 1_000;
    private const long Rtt = 50_000;

    [Fact]
    public void SteadyFlow_SamplesItsRate()
    {
        // 1,000-byte packets every 1 ms (1 MB/s), each acknowledged one RTT later.
        var sampler = new DeliveryRateSampler();
        var sent = new Queue<SentPacket>();
        var last = default(Ferry.Protocol.Udp.Congestion.RateSample);
        for (long t = 0; t < 500_000; t += 1_000)
        {
            while (sent.TryPeek(out var head) && head.TimeSent + Rtt <= t)
            {
                last = Ack(sampler, sent.Dequeue(), t);
            }

            sent.Enqueue(Send(sampler, t, sent.Count * (long)Size, fillsPath: true));
        }

        Assert.InRange(last.DeliveryRate, 980_000, 1_020_000);
        Assert.Equal(last.DeliveryRate, last.CreditedRate);
        Assert.False(last.IsAppLimited);
        Assert.Equal(Rtt, last.Rtt);
    }

    [Fact]
    public void AckBurst_DoesNotReadAsAFasterPath_TheSendIntervalBoundsIt()
    {
        // Ten packets sent 1 ms apart, all acknowledged at once: the ACK interval is ~0, the send interval 9 ms.
        var sampler = new DeliveryRateSampler();
        var packets = new List<SentPacket>();
        for (int i = 0; i < 10; i++)
        {
            packets.Add(Send(sampler, i * 1_000L, i * (long)Size, fillsPath: true));
        }

        sampler.BeginAck();
        foreach (var p in packets)
        {
            sampler.OnPacketAcked(p, 60_000);
        }

        var sample = sampler.EndAck(minRtt: 1_000);
        Assert.Equal(10L * Size, sampler.Delivered);
        Assert.True(sample.DeliveryRate <= 10L * Size * 1_000_000 / 9_000, $"rate {sample.DeliveryRate}");
    }

    [Fact]
    public void IntervalShorterThanHalfTheMinimumRtt_IsNoSample()
    {
        var sampler = new DeliveryRateSampler();
        var p = Send(sampler, 0, 0, fillsPath: true);
        sampler.BeginAck();
        sampler.OnPacketAcked(p, 10_000);
        var sample = sampler.EndAck(minRtt: 50_000);
        Assert.Equal(0, sample.DeliveryRate);
        Assert.Equal(Size, sample.Delivered);
    }

    [Fact]
    public void PacketsSentWhileAppLimited_OrNotFillingThePath_GiveAppLimitedSamples_UntilTheyAreDelivered()
    {
        var sampler = new DeliveryRateSampler();
        var handshake = Send(sampler, 0, 0, fillsPath: false);
        Assert.True(handshake.IsAppLimited);
        Ack(sampler, handshake, Rtt);

        // Nothing to send with the window open, then data again: still app-limited until the bytes in flight then are delivered.
        var a = Send(sampler, Rtt, 0, fillsPath: true);
        sampler.OnAppLimited(bytesInFlight: Size);
        var b = Send(sampler, Rtt + 1_000, Size, fillsPath: true);
        Assert.True(b.IsAppLimited);
        Assert.True(Ack(sampler, b, (2 * Rtt) + 1_000).IsAppLimited);
        Ack(sampler, a, (2 * Rtt) + 2_000);
        var c = Send(sampler, (2 * Rtt) + 3_000, 0, fillsPath: true);
        Assert.False(c.IsAppLimited);
    }

    [Fact]
    public void RandomLoss_IsCreditedToWhatTheBottleneckCarried()
    {
        var sampler = new DeliveryRateSampler();
        var first = Send(sampler, 0, 0, fillsPath: true);
        var lost = Send(sampler, 1_000, Size, fillsPath: true);
        var last = Send(sampler, 2_000, 2 * Size, fillsPath: true);
        Ack(sampler, first, Rtt);
        sampler.OnRandomLoss(lost.Size);
        var sample = Ack(sampler, last, Rtt + 2_000);
        Assert.True(sample.CreditedRate > sample.DeliveryRate, $"credited {sample.CreditedRate}, delivered {sample.DeliveryRate}");
        // Over the 52 ms since the last packet was stamped: 2 packets delivered, 1 lost at random.
        Assert.Equal(2L * Size * 1_000_000 / (Rtt + 2_000), sample.DeliveryRate);
        Assert.Equal(3L * Size * 1_000_000 / (Rtt + 2_000), sample.CreditedRate);
    }

    private static SentPacket Send(DeliveryRateSampler sampler, long now, long bytesInFlight, bool fillsPath)
    {
        var p = new SentPacket { TimeSent = now, Size = Size, AckEliciting = true };
        sampler.OnPacketSent(ref p, now, bytesInFlight, fillsPath);
        return p;
    }

    private static Ferry.Protocol.Udp.Congestion.RateSample Ack(DeliveryRateSampler sampler, SentPacket p, long now)
    {
        sampler.BeginAck();
        sampler.OnPacketAcked(p, now);
        return sampler.EndAck(minRtt: 1_000);
    }
}
