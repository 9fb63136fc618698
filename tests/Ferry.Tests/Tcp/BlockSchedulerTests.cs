using Ferry.Protocol.Common;
using Ferry.Protocol.Tcp;

namespace Ferry.Tests.Tcp;

public sealed class BlockSchedulerTests
{
    private const int Bs = 4096;

    [Fact]
    public void SplitsIntoAlignedBlocks_LastOneShort_LowestFirst()
    {
        var s = new BlockScheduler((3 * Bs) + 100, Bs, null);
        var items = TakeAll(s, stream: 0);
        Assert.Equal(new[] { new TcpWorkItem(0, Bs), new TcpWorkItem(Bs, Bs), new TcpWorkItem(2 * Bs, Bs), new TcpWorkItem(3 * Bs, 100) }, items);
        Assert.False(s.IsComplete);
        foreach (var i in items)
        {
            Assert.Equal(TcpAckOutcome.Completed, s.Acknowledge(0, i.Offset, i.Length));
        }

        Assert.True(s.IsComplete);
        Assert.Equal((3 * Bs) + 100, s.BytesAcknowledged);
    }

    [Fact]
    public void EmptyFile_IsCompleteAtOnce()
    {
        var s = new BlockScheduler(0, Bs, null);
        Assert.True(s.IsComplete);
        Assert.False(s.HasPending);
        Assert.False(s.TryTake(0, out _));
    }

    [Fact]
    public void ResumeSkipsPresentRanges_AndSendsOnlyMissingPartsOfBlocks()
    {
        var present = new RangeSet();
        present.Add(0, Bs);                 // block 0 complete
        present.Add(Bs + 100, Bs + 200);    // a hole punched into block 1
        present.Add(3 * Bs, 4 * Bs);        // block 3 complete
        var s = new BlockScheduler(4 * Bs, Bs, present);
        Assert.Equal((4 * Bs) - Bs - 100 - Bs, s.BytesToSend);
        var items = TakeAll(s, 0);
        Assert.Equal(new[] { new TcpWorkItem(Bs, 100), new TcpWorkItem(Bs + 200, Bs - 200), new TcpWorkItem(2 * Bs, Bs) }, items);
    }

    [Fact]
    public void FullyPresent_IsComplete()
    {
        var present = new RangeSet();
        present.Add(0, 10 * Bs);
        var s = new BlockScheduler(10 * Bs, Bs, present);
        Assert.True(s.IsComplete);
        Assert.False(s.TryTake(0, out _));
    }

    [Fact]
    public void LostStream_ReturnsItsItemsFirst_AndAcksFromOthersAreRefused()
    {
        var s = new BlockScheduler(10 * Bs, Bs, null);
        Assert.True(s.TryTake(0, out var a));   // block 0 on stream 0
        Assert.True(s.TryTake(1, out var b));   // block 1 on stream 1
        Assert.True(s.TryTake(1, out var c));   // block 2 on stream 1
        Assert.True(s.TryTake(0, out var d));   // block 3 on stream 0

        // Stream 0 must not acknowledge stream 1's item, nor a wrong length.
        Assert.Equal(TcpAckOutcome.Unexpected, s.Acknowledge(0, b.Offset, b.Length));
        Assert.Equal(TcpAckOutcome.Unexpected, s.Acknowledge(1, b.Offset, b.Length - 1));
        Assert.Equal(TcpAckOutcome.Completed, s.Acknowledge(1, b.Offset, b.Length));
        Assert.Equal(TcpAckOutcome.Unexpected, s.Acknowledge(1, b.Offset, b.Length));   // twice

        Assert.Equal(2, s.ReleaseStream(0));
        Assert.Equal(2, s.ItemsRequeued);
        Assert.Equal(new[] { c }, s.HeldBy(1));

        // The released blocks 0 and 3 come back before any fresh block (4...).
        Assert.True(s.TryTake(2, out var r1));
        Assert.True(s.TryTake(2, out var r2));
        Assert.True(s.TryTake(2, out var fresh));
        Assert.Equal(a, r1);
        Assert.Equal(d, r2);
        Assert.Equal(4 * Bs, fresh.Offset);
        Assert.Equal(TcpAckOutcome.Unexpected, s.Acknowledge(0, a.Offset, a.Length));   // the dead stream's late ack
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 10)]      // 10 blocks over 3 streams: not divisible
    [InlineData(64, 7)]      // more streams than blocks
    [InlineData(8, 1000)]
    public void RandomInterleaving_WithStreamLosses_DeliversEveryByteExactlyOnce(int streams, int blocks)
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var rng = new Random(seed);
            long size = ((long)blocks * Bs) - rng.Next(0, Bs);
            var present = new RangeSet();
            if (seed % 2 == 1)
            {
                long s0 = rng.NextInt64(0, size);
                present.Add(s0, Math.Min(size, s0 + rng.Next(1, 3 * Bs)));
            }

            var s = new BlockScheduler(size, Bs, present);
            var delivered = new RangeSet();
            var held = new List<(int Stream, TcpWorkItem Item)>();
            int steps = 0;
            while (!s.IsComplete)
            {
                Assert.True(++steps < 100_000, "scheduler did not converge");
                int stream = rng.Next(streams);
                int action = rng.Next(10);
                if (action < 5 && s.TryTake(stream, out var item))
                {
                    held.Add((stream, item));
                }
                else if (action < 9 && held.Count > 0)
                {
                    int k = rng.Next(held.Count);
                    var (st, it) = held[k];
                    held.RemoveAt(k);
                    Assert.Equal(TcpAckOutcome.Completed, s.Acknowledge(st, it.Offset, it.Length));
                    Assert.False(delivered.Overlaps(it.Offset, it.End), $"{it} delivered twice");
                    Assert.False(present.Overlaps(it.Offset, it.End), $"{it} was already present");
                    Assert.Equal(it.Offset / Bs, (it.End - 1) / Bs);
                    delivered.Add(it.Offset, it.End);
                }
                else if (action == 9)
                {
                    int lost = s.ReleaseStream(stream);
                    Assert.Equal(held.RemoveAll(h => h.Stream == stream), lost);
                }
            }

            delivered.Add(0, 0);
            foreach (var r in present)
            {
                delivered.Add(r.Start, r.End);
            }

            Assert.Equal(size, delivered.TotalLength);
            Assert.Equal(size == 0 ? 0 : 1, delivered.Count);
        }
    }

    private static List<TcpWorkItem> TakeAll(BlockScheduler s, int stream)
    {
        var list = new List<TcpWorkItem>();
        while (s.TryTake(stream, out var i))
        {
            list.Add(i);
        }

        return list;
    }
}
