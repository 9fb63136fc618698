namespace Ferry.Protocol.Relay;

/// <summary>Reader side: message cache, history reads, DELIVER packing, round-robin between readers.</summary>
public sealed partial class RelayServer
{
    private readonly Queue<RelayServerSession> _sendQueue = new();
    private readonly RelayMessage?[] _cache;
    private long _lastSeq;

    // First sequence stored since start: older ones are only in the store.
    private readonly long _cacheFirst;
    private readonly HistoryBlockCache _historyBlocks;

    /// <summary>The oldest sequence the in-memory cache still holds.</summary>
    private long CacheFirst => Math.Max(_cacheFirst, _lastSeq - _cache.Length + 1);

    private long ReleasedUpTo(RelayServerSession s) => s.DelayMicros == 0 ? _lastSeq : s.ReleasedUpTo;

    private void MarkSendable(RelayServerSession s)
    {
        if (!s.InSendQueue && !s.Removed && s.Reader is { } r && r.HasSendable(ReleasedUpTo(s)))
        {
            s.InSendQueue = true;
            _sendQueue.Enqueue(s);
        }
    }

    /// <summary>The message with sequence <paramref name="seq"/>, from memory or the store; null with <paramref name="prunedEnd"/> set when retention removed it.</summary>
    private RelayMessage? Fetch(long seq, out long prunedEnd)
    {
        prunedEnd = 0;
        if (seq > _lastSeq)
        {
            return null;
        }

        if (seq >= CacheFirst)
        {
            return _cache[seq & (_cache.Length - 1)];
        }

        var m = _historyBlocks.Get(seq, out prunedEnd);
        Stats.HistoryReads = _historyBlocks.Reads;
        if (m is null && prunedEnd > 0)
        {
            prunedEnd = Math.Min(prunedEnd, Math.Min(CacheFirst, _lastSeq + 1));
        }

        return m;
    }

    /// <summary>Packs one DELIVER for <paramref name="s"/>: lost sequences first, then new ones within both windows.</summary>
    private int TryWriteDeliver(RelayServerSession s, Span<byte> buffer, long now)
    {
        var reader = s.Reader!;
        long start, end;
        bool retransmit = !reader.Lost.IsEmpty;
        if (retransmit)
        {
            start = reader.Lost.First.Start;
            end = reader.Lost.First.End;
        }
        else
        {
            start = reader.Next;
            end = reader.NewDataEnd(ReleasedUpTo(s));
        }

        if (start >= end)
        {
            return 0;
        }

        end = Math.Min(end, start + ushort.MaxValue);
        var first = Fetch(start, out long prunedEnd);
        int count;
        int length;
        if (first is null)
        {
            if (prunedEnd <= start)
            {
                return 0;
            }

            count = (int)(Math.Min(prunedEnd, end) - start);
            int pos0 = RelayCodec.BeginDeliver(buffer, s.Id, start, RelayCodec.DeliverFlagPruned);
            length = RelayCodec.FinishDeliver(buffer, pos0, count);
        }
        else
        {
            int pos = RelayCodec.BeginDeliver(buffer, s.Id, start, 0);
            int limit = Math.Min(buffer.Length, s.MaxDeliver);
            count = 0;
            var m = first;
            while (true)
            {
                var entry = RelayCodec.EntryOf(m);
                if (!RelayCodec.EntryFits(pos, entry.Length, limit))
                {
                    break;
                }

                entry.CopyTo(buffer[pos..]);
                pos += entry.Length;
                count++;
                if (start + count >= end || Fetch(start + count, out _) is not { } nextMessage)
                {
                    break;
                }

                m = nextMessage;
            }

            length = RelayCodec.FinishDeliver(buffer, pos, count);
        }

        reader.OnSent(start, count, now, retransmit);
        Stats.DeliverDatagrams++;
        if (retransmit)
        {
            Stats.MessagesRetransmitted += count;
        }
        else
        {
            Stats.MessagesSent += count;
        }

        return length;
    }
}
