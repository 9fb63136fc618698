using Ferry.Timing;
using Microsoft.Extensions.Time.Testing;

namespace Ferry.Tests.Timing;

/// <summary>The shared rate limit of tcp:// streams, on a fake clock: no test waits for real time.</summary>
public class TokenBucketTests
{
    private static FakeTimeProvider Clock() => new(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));

    /// <summary>
    /// Streams that each reserve a piece, move it when the bucket says, and reserve the next, as the stream senders do,
    /// for <paramref name="seconds"/> of fake time; returns the bytes moved in each second.
    /// </summary>
    private static List<long> Drive(FakeTimeProvider clock, TokenBucket bucket, int streams, int piece, int seconds, Action<int>? atSecond = null)
    {
        var perSecond = new List<long>();
        var due = new TimeSpan[streams]; // when each stream's reserved piece may go, from the start
        for (int i = 0; i < streams; i++)
        {
            due[i] = bucket.Reserve(piece);
        }

        var start = clock.GetUtcNow();
        for (int s = 0; s < seconds; s++)
        {
            atSecond?.Invoke(s);
            long moved = 0;
            var end = TimeSpan.FromSeconds(s + 1);
            while (true)
            {
                // The stream whose piece is due first moves it, then reserves its next one.
                int next = Array.IndexOf(due, due.Min());
                if (due[next] >= end)
                {
                    break;
                }

                var now = clock.GetUtcNow() - start;
                if (due[next] > now)
                {
                    clock.Advance(due[next] - now);
                }

                moved += piece;
                due[next] = clock.GetUtcNow() - start + bucket.Reserve(piece);
            }

            var rest = end - (clock.GetUtcNow() - start);
            if (rest > TimeSpan.Zero)
            {
                clock.Advance(rest);
            }

            perSecond.Add(moved);
        }

        return perSecond;
    }

    [Theory]
    [InlineData(1, 64 * 1024)]
    [InlineData(4, 100_000)]
    [InlineData(16, 16 * 1024)]
    public void Streams_together_move_the_rate_each_second(int streams, int piece)
    {
        var clock = Clock();
        const long rate = 5_000_000; // 40 Mbit/s
        var bucket = new TokenBucket(clock, rate);

        var seconds = Drive(clock, bucket, streams, piece, 10);

        long total = seconds.Sum();
        Assert.InRange(total, 10 * rate * 0.95, 10 * rate * 1.05);
        Assert.All(seconds, b => Assert.InRange(b, rate * 0.90, rate * 1.10));
    }

    [Fact]
    public void A_new_rate_holds_from_the_second_it_is_set()
    {
        var clock = Clock();
        var bucket = new TokenBucket(clock, 5_000_000);

        var seconds = Drive(clock, bucket, 4, 64 * 1024, 6, s =>
        {
            if (s == 3)
            {
                bucket.SetRate(2_500_000);
            }
        });

        Assert.All(seconds.Take(3), b => Assert.InRange(b, 4_500_000, 5_500_000));
        Assert.All(seconds.Skip(4), b => Assert.InRange(b, 2_250_000, 2_750_000));
    }

    [Fact]
    public void No_rate_never_waits()
    {
        var bucket = new TokenBucket(Clock(), 0);
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(TimeSpan.Zero, bucket.Reserve(1 << 20));
        }
    }

    [Fact]
    public async Task WaitAsync_waits_on_the_given_clock_not_the_real_one()
    {
        var clock = Clock();
        var bucket = new TokenBucket(clock, 1_000_000);
        var burst = bucket.WaitAsync(50_000, CancellationToken.None); // the burst (50 ms of the rate): at once
        Assert.True(burst.IsCompleted);
        await burst;

        var wait = bucket.WaitAsync(500_000, CancellationToken.None).AsTask();
        Assert.False(wait.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(wait.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(2));
        await wait.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
