namespace Ferry.Protocol.Relay;

/// <summary>Writer side: in-order acceptance with deduplication, store hand-off, POST_ACK after durability.</summary>
public sealed partial class RelayServer
{
    private readonly Queue<RelayServerSession> _postAckQueue = new();
    private List<RelayAppend> _appends = new();
    private List<RelayAppend> _appendsSpare = new();

    /// <summary>Accepted lines waiting for the store.</summary>
    public int PendingAppends => _appends.Count;

    /// <summary>
    /// Hands every accepted line to the caller, who must store them in this order (each gets the next sequence number)
    /// and then call <see cref="OnAppended"/> or <see cref="OnAppendFailed"/>. Returns the number of lines; the list is reused.
    /// </summary>
    public int TakeAppends(List<RelayAppend> into)
    {
        into.Clear();
        if (_appends.Count == 0)
        {
            return 0;
        }

        into.AddRange(_appends);
        _appends.Clear();
        return into.Count;
    }

    /// <summary>The store made these lines durable: acknowledge the writers and make new messages available to readers.</summary>
    public void OnAppended(IReadOnlyList<RelayAppendResult> results, long now)
    {
        bool any = false;
        foreach (var r in results)
        {
            if (r.Message is { } m)
            {
                if (m.Seq != _lastSeq + 1)
                {
                    throw new InvalidOperationException($"store returned sequence {m.Seq}, expected {_lastSeq + 1}: sequence numbers must be gap-free");
                }

                _lastSeq = m.Seq;
                _cache[m.Seq & (_cache.Length - 1)] = m;
                Stats.LinesStored++;
                any = true;
            }
            else
            {
                Stats.StoreDuplicates++;
            }

            if (_sessions.TryGetValue(r.Append.Session, out var writer))
            {
                writer.StoredBelow = Math.Max(writer.StoredBelow, r.Append.WriterSeq + 1);
                QueuePostAck(writer);
            }
        }

        if (any)
        {
            foreach (var s in _sessions.Values)
            {
                if (s.Reader is not null && s.DelayMicros == 0)
                {
                    MarkSendable(s);
                }
            }
        }
    }

    /// <summary>The store failed: forget these lines so the writers' retries are accepted again.</summary>
    public void OnAppendFailed(IReadOnlyList<RelayAppend> failed)
    {
        foreach (var a in failed)
        {
            if (_sessions.TryGetValue(a.Session, out var writer))
            {
                writer.AcceptedBelow = Math.Min(writer.AcceptedBelow, a.WriterSeq);
                writer.Early.Clear();
            }
        }
    }

    private void HandlePost(RelayServerSession s, long firstSeq, List<string> lines)
    {
        bool ackNow = false;
        for (int i = 0; i < lines.Count; i++)
        {
            long seq = firstSeq + i;
            if (seq < s.AcceptedBelow)
            {
                // A retry. If it is already durable the writer lost our POST_ACK: send it again.
                Stats.DuplicateLines++;
                ackNow |= seq < s.StoredBelow;
            }
            else if (seq == s.AcceptedBelow)
            {
                Accept(s, seq, lines[i]);
                while (s.Early.Remove(s.AcceptedBelow, out string? text))
                {
                    Accept(s, s.AcceptedBelow, text);
                }
            }
            else if (seq - s.AcceptedBelow < _options.WriterReorderLimit)
            {
                // Ahead of a missing line: hold it so the writer's lines are stored in its order.
                if (!s.Early.TryAdd(seq, lines[i]))
                {
                    Stats.DuplicateLines++;
                }
            }
        }

        if (ackNow)
        {
            QueuePostAck(s);
        }
    }

    private void Accept(RelayServerSession s, long seq, string text)
    {
        _appends.Add(new RelayAppend(s.Id, s.ClientId, seq, s.Name, text));
        s.AcceptedBelow = seq + 1;
        Stats.LinesAccepted++;
    }

    private void QueuePostAck(RelayServerSession s)
    {
        if (!s.PostAckQueued)
        {
            s.PostAckQueued = true;
            _postAckQueue.Enqueue(s);
        }
    }
}
