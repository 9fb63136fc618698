namespace Ferry.Protocol.Relay;

/// <summary>
/// Messages read from the store for readers behind the in-memory cache, shared between readers. The store is read in
/// aligned blocks, so fifty readers catching up over the same range cost one read and one entry encoding per message
/// instead of fifty. Bounded: at most <c>capacity</c> blocks, the least recently used one is dropped first.
/// </summary>
internal sealed class HistoryBlockCache
{
    private readonly IRelayHistory _history;
    private readonly int _blockSize;
    private readonly int _capacity;
    private readonly Dictionary<long, Block> _blocks = new();
    private long _clock;

    public HistoryBlockCache(IRelayHistory history, int blockSize, int capacity)
    {
        _history = history;
        _blockSize = Math.Max(1, blockSize);
        _capacity = Math.Max(1, capacity);
    }

    /// <summary>Store reads so far.</summary>
    public long Reads { get; private set; }

    /// <summary>
    /// The stored message <paramref name="seq"/> (which must be at or below the newest stored sequence); null when retention
    /// removed it, with <paramref name="prunedEnd"/> the end of the removed run as far as this block knows (0 when unknown).
    /// </summary>
    public RelayMessage? Get(long seq, out long prunedEnd)
    {
        prunedEnd = 0;
        long start = (seq - 1) / _blockSize * _blockSize + 1;
        if (!_blocks.TryGetValue(start, out var block) || (block.Messages.Count < _blockSize && seq > block.End))
        {
            // Missing, or read while the block's end was not stored yet: (re)read it.
            block = Load(start);
        }

        block.LastUsed = ++_clock;
        var list = block.Messages;
        if (list.Count == 0)
        {
            // The whole block was removed by retention.
            prunedEnd = start + _blockSize;
            return null;
        }

        long index = seq - list[0].Seq;
        if (index < 0)
        {
            prunedEnd = list[0].Seq;
            return null;
        }

        if (index < list.Count && list[(int)index].Seq == seq)
        {
            return list[(int)index];
        }

        // Rows are gap-free above the first retained one; anything else means the store changed under us.
        _blocks.Remove(start);
        return null;
    }

    private Block Load(long start)
    {
        if (!_blocks.ContainsKey(start) && _blocks.Count >= _capacity)
        {
            long oldest = 0;
            long oldestUse = long.MaxValue;
            foreach (var (key, b) in _blocks)
            {
                if (b.LastUsed < oldestUse)
                {
                    oldestUse = b.LastUsed;
                    oldest = key;
                }
            }

            _blocks.Remove(oldest);
        }

        var messages = new List<RelayMessage>(_blockSize);
        Reads++;
        _history.Read(start, _blockSize, messages);

        // The store may return rows past the block when older ones were pruned: keep only this block's.
        long end = start + _blockSize;
        int keep = messages.FindIndex(m => m.Seq >= end);
        if (keep >= 0)
        {
            messages.RemoveRange(keep, messages.Count - keep);
        }

        var block = new Block(messages, messages.Count == 0 ? start - 1 : messages[^1].Seq);
        _blocks[start] = block;
        return block;
    }

    private sealed class Block(List<RelayMessage> messages, long end)
    {
        public List<RelayMessage> Messages { get; } = messages;

        /// <summary>Newest sequence in the block.</summary>
        public long End { get; } = end;

        public long LastUsed { get; set; }
    }
}
