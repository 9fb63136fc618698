using Ferry.Protocol.Relay;

namespace Ferry.Relay;

/// <summary>A message store in memory: for tests and simulations. Same contract as <see cref="SqliteMessageStore"/>, not durable.</summary>
public sealed class InMemoryMessageStore : IMessageStore
{
    private readonly List<RelayMessage> _messages = new();
    private readonly Dictionary<(ulong, long), long> _keys = new();
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private long _lastSeq;

    public InMemoryMessageStore(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
    }

    public long FirstSeq
    {
        get
        {
            lock (_lock)
            {
                return _messages.Count > 0 ? _messages[0].Seq : _lastSeq + 1;
            }
        }
    }

    public long LastSeq
    {
        get
        {
            lock (_lock)
            {
                return _lastSeq;
            }
        }
    }

    /// <summary>Appends served so far (tests count store round trips).</summary>
    public int AppendCalls { get; private set; }

    /// <summary>History reads so far.</summary>
    public int ReadCalls { get; private set; }

    public void Append(IReadOnlyList<RelayAppend> appends, List<RelayAppendResult> results)
    {
        results.Clear();
        lock (_lock)
        {
            AppendCalls++;
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var a in appends)
            {
                if (_keys.ContainsKey((a.ClientId, a.WriterSeq)))
                {
                    results.Add(new RelayAppendResult(a, null));
                    continue;
                }

                var m = new RelayMessage(++_lastSeq, now, a.Author, a.Text);
                _messages.Add(m);
                _keys[(a.ClientId, a.WriterSeq)] = m.Seq;
                results.Add(new RelayAppendResult(a, m));
            }
        }
    }

    public void Read(long fromSeq, int maxCount, List<RelayMessage> into)
    {
        lock (_lock)
        {
            ReadCalls++;
            if (_messages.Count == 0)
            {
                return;
            }

            long index = Math.Max(0, fromSeq - _messages[0].Seq);
            for (long i = index; i < _messages.Count && into.Count < maxCount; i++)
            {
                into.Add(_messages[(int)i]);
            }
        }
    }

    public long FindFirstAtOrAfter(long unixMillis)
    {
        lock (_lock)
        {
            foreach (var m in _messages)
            {
                if (m.TimestampMs >= unixMillis)
                {
                    return m.Seq;
                }
            }

            return _lastSeq + 1;
        }
    }

    public int Prune(RelayRetention retention)
    {
        lock (_lock)
        {
            int remove = 0;
            if (retention.MaxCount is long max && _messages.Count > max)
            {
                remove = (int)(_messages.Count - Math.Max(1, max));
            }

            if (retention.MaxAge is TimeSpan age)
            {
                long cutoff = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)age.TotalMilliseconds;
                while (remove < _messages.Count - 1 && _messages[remove].TimestampMs < cutoff)
                {
                    remove++;
                }
            }

            _messages.RemoveRange(0, remove);
            return remove;
        }
    }

    public void Dispose()
    {
    }
}
