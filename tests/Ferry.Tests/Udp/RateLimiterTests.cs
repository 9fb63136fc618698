using Ferry.Protocol.Udp.Congestion;

namespace Ferry.Tests.Udp;

/// <summary>The data sender's rate ceiling alone, driven by a hand-moved clock.</summary>
public class RateLimiterTests
{
    [Theory]
    [InlineData(5_000_000, 1452)]
    [InlineData(125_000, 1200)]
    [InlineData(1_250_000_000, 8952)]
    public void A_sender_that_goes_whenever_allowed_sends_the_rate_over_a_second(long rate, int packet)
    {
        var limiter = new RateLimiter();
        limiter.SetRate(rate);
        long now = 7_000_000_123;
        long start = now;
        long sent = 0;
        while (now < start + 1_000_000)
        {
            long wake = limiter.Check(now);
            if (wake != 0)
            {
                Assert.True(wake > now);
                now = wake;
                continue;
            }

            limiter.OnSent(packet);
            sent += packet;
        }

        // One burst (at most 4 ms of the rate, at least 3,000 bytes) and one packet of debt on top of the rate.
        long slack = Math.Max(RateLimiter.MinBurstBytes, rate * RateLimiter.BurstMicros / 1_000_000) + packet;
        Assert.InRange(sent, rate - packet, rate + slack);
    }

    [Fact]
    public void No_rate_never_holds_back()
    {
        var limiter = new RateLimiter();
        for (int i = 0; i < 10_000; i++)
        {
            Assert.Equal(0, limiter.Check(1_000));
            limiter.OnSent(65_000);
        }
    }

    [Fact]
    public void A_lower_rate_takes_effect_at_once()
    {
        var limiter = new RateLimiter();
        limiter.SetRate(10_000_000);
        long now = 1_000_000;
        Assert.Equal(0, limiter.Check(now));
        limiter.SetRate(100_000);
        limiter.OnSent(1_000_000); // 1 MB sent under the old rate: the debt is paid at the new one
        long wake = limiter.Check(now);
        Assert.InRange(wake - now, 9_950_000, 10_000_100);
    }
}
