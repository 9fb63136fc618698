using Ferry.Protocol.Common;
using Ferry.Protocol.Relay;
using Ferry.Relay;

namespace Ferry.Tests.Relay;

/// <summary>Server-side delivery pieces on their own: the shared history blocks and a reader's growing window with timeout probes.</summary>
public sealed class RelayDeliveryStateTests
{
    [Fact]
    public void HistoryBlocks_AreReadOnceAndSharedByEveryReader()
    {
        using var store = StoreWith(1000);
        var blocks = new HistoryBlockCache(store, blockSize: 100, capacity: 4);
        for (int reader = 0; reader < 50; reader++)
        {
            for (long seq = 1; seq <= 300; seq++)
            {
                var m = blocks.Get(seq, out _);
                Assert.NotNull(m);
                Assert.Equal(seq, m!.Seq);
                Assert.Equal($"line {seq}", m.Text);
            }
        }

        Assert.Equal(3, blocks.Reads);
        Assert.Equal(3, store.ReadCalls);
    }

    [Fact]
    public void HistoryBlocks_AreBounded_LeastRecentlyUsedGoesFirst()
    {
        using var store = StoreWith(1000);
        var blocks = new HistoryBlockCache(store, blockSize: 100, capacity: 2);
        blocks.Get(1, out _);
        blocks.Get(101, out _);
        blocks.Get(5, out _); // block 1 used again: block 101 is now the oldest
        blocks.Get(201, out _); // evicts block 101
        Assert.Equal(3, blocks.Reads);
        blocks.Get(6, out _);
        Assert.Equal(3, blocks.Reads);
        blocks.Get(102, out _);
        Assert.Equal(4, blocks.Reads);
    }

    [Fact]
    public void HistoryBlocks_ReportWhereRetentionRemovedMessages()
    {
        using var store = StoreWith(1000);
        store.Prune(new RelayRetention(MaxCount: 850, MaxAge: null)); // keeps 151..1000
        var blocks = new HistoryBlockCache(store, blockSize: 100, capacity: 4);
        Assert.Null(blocks.Get(20, out long pruned));
        Assert.Equal(101, pruned); // the whole first block is gone
        Assert.Null(blocks.Get(120, out pruned));
        Assert.Equal(151, pruned);
        Assert.Equal(151, blocks.Get(151, out _)!.Seq);
    }

    [Fact]
    public void HistoryBlocks_RereadABlockThatWasIncompleteWhenRead()
    {
        using var store = StoreWith(150);
        var blocks = new HistoryBlockCache(store, blockSize: 100, capacity: 4);
        Assert.Equal(150, blocks.Get(150, out _)!.Seq); // block 101..200 holds 101..150
        Append(store, 151, 180);
        Assert.Equal(170, blocks.Get(170, out _)!.Seq);
        Assert.Equal(2, blocks.Reads);
        Assert.Equal(120, blocks.Get(120, out _)!.Seq);
        Assert.Equal(2, blocks.Reads);
    }

    [Fact]
    public void ReaderWindow_GrowsWithAcks_UpToTheMaximum_AndHalvesOnLoss()
    {
        var state = new ReaderSendState(1, window: 64, maxWindow: 1024, new RetransmissionTimer(200_000, 200_000, 2_000_000));
        long now = 1_000_000;
        state.OnAck(1, 100_000, [], now); // the reader's first ACK opens its receive window
        for (int round = 0; round < 6; round++)
        {
            long from = state.Next;
            int count = state.Window;
            for (int i = 0; i < count; i += 16)
            {
                state.OnSent(from + i, 16, now, retransmit: false);
            }

            now += 1_000;
            state.OnAck(from + count, 100_000, [], now);
        }

        Assert.Equal(1024, state.Window);

        // Four packets out, the first lost: the three after it are acknowledged, so the first is declared lost.
        long start = state.Next;
        for (int i = 0; i < 4; i++)
        {
            state.OnSent(start + (16 * i), 16, now, retransmit: false);
        }

        state.OnAck(start, 100_000, [new ByteRange(start + 16, start + 64)], now + 1_000);
        Assert.Equal(512, state.Window);
        Assert.Equal(start, state.Lost.First.Start);
        Assert.Equal(start + 16, state.Lost.First.End);
    }

    [Fact]
    public void ReaderTimeout_ResendsOnlyTheOldestPacket_AsAProbe()
    {
        var state = new ReaderSendState(1, window: 256, maxWindow: 256, new RetransmissionTimer(200_000, 200_000, 2_000_000));
        long now = 1_000_000;
        state.OnAck(1, 100_000, [], now);
        for (int i = 0; i < 8; i++)
        {
            state.OnSent(1 + (16 * i), 16, now, retransmit: false);
        }

        Assert.False(state.OnTimer(now + 100_000));
        Assert.True(state.OnTimer(state.TimerDeadline));
        Assert.Equal(1, state.Lost.First.Start);
        Assert.Equal(17, state.Lost.First.End);
        Assert.Equal(1, state.Lost.Count);
        Assert.Equal(256, state.Window); // a late ACK on a busy host is not congestion
    }

    private static InMemoryMessageStore StoreWith(int count)
    {
        var store = new InMemoryMessageStore();
        Append(store, 1, count);
        return store;
    }

    private static void Append(InMemoryMessageStore store, int from, int to)
    {
        var appends = Enumerable.Range(from, to - from + 1).Select(i => new RelayAppend(1, 1, i, "w", $"line {i}")).ToList();
        store.Append(appends, new List<RelayAppendResult>());
    }
}
