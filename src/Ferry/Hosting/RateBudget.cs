using Ferry.Transfers;

namespace Ferry.Hosting;

/// <summary>
/// The server's rate caps (<c>--max-rate</c> for each transfer, <c>--max-total-rate</c> for their sum) shared among the
/// running transfers of every protocol. Each running transfer holds a <see cref="RateShare"/>; whenever one joins or
/// leaves, the total is divided again, max-min fairly: a transfer that asked for less than an equal share keeps what
/// it asked for, and the rest is split equally among the others (three transfers under 60M get 20M each; if one of
/// them asked for 10M, the other two get 25M). Thread-safe: listeners of every protocol join from their own threads.
/// </summary>
public sealed class RateBudget
{
    private readonly Lock _sync = new();
    private readonly List<RateShare> _shares = new();
    private long _generation;

    /// <param name="maxRate">Cap of each transfer, bit/s (0: none).</param>
    /// <param name="maxTotalRate">Cap of the sum of all transfers, bit/s (0: none).</param>
    public RateBudget(long maxRate, long maxTotalRate)
    {
        MaxRate = Math.Max(0, maxRate);
        MaxTotalRate = Math.Max(0, maxTotalRate);
    }

    public long MaxRate { get; }

    public long MaxTotalRate { get; }

    /// <summary>Changes each time the shares are divided again; a loop that applies shares itself compares it with the last it saw.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Transfers holding a share.</summary>
    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _shares.Count;
            }
        }
    }

    /// <summary>
    /// A running transfer joins, asking for <paramref name="requested"/> bit/s (0: no limit of its own);
    /// <paramref name="changed"/> (may be null) is called with its new limit whenever a later division changes it,
    /// outside the budget's lock. Dispose the share when the transfer's data has moved.
    /// </summary>
    public RateShare Join(long requested, Action<long>? changed = null)
    {
        var share = new RateShare(this, Math.Max(0, requested), changed);
        List<(RateShare, long)> notify;
        lock (_sync)
        {
            _shares.Add(share);
            notify = DivideLocked(except: share);
        }

        Notify(notify);
        return share;
    }

    internal void Leave(RateShare share)
    {
        List<(RateShare, long)> notify;
        lock (_sync)
        {
            if (!_shares.Remove(share))
            {
                return;
            }

            notify = DivideLocked(except: null);
        }

        Notify(notify);
    }

    private static void Notify(List<(RateShare Share, long Limit)> changes)
    {
        foreach (var (share, limit) in changes)
        {
            share.OnChanged(limit);
        }
    }

    /// <summary>Divides the caps among the shares (water-filling); returns the shares whose limit changed, but <paramref name="except"/>.</summary>
    private List<(RateShare, long)> DivideLocked(RateShare? except)
    {
        var changed = new List<(RateShare, long)>();
        // Each transfer's own ceiling: what it asked for, under the per-transfer cap (long.MaxValue: none).
        var ceilings = _shares
            .Select(s => (Share: s, Ceiling: RateLimits.Min2(s.Requested, MaxRate) is > 0 and var c ? c : long.MaxValue))
            .OrderBy(p => p.Ceiling)
            .ToList();
        long remaining = MaxTotalRate > 0 ? MaxTotalRate : long.MaxValue;
        int left = ceilings.Count;
        foreach (var (share, ceiling) in ceilings)
        {
            long fair = remaining == long.MaxValue ? long.MaxValue : remaining / left;
            long limit = Math.Min(ceiling, fair);
            if (remaining != long.MaxValue)
            {
                remaining -= limit;
            }

            left--;
            long value = limit == long.MaxValue ? 0 : Math.Max(limit, RateLimits.Min);
            if (share.SetLocked(value) && share != except)
            {
                changed.Add((share, value));
            }
        }

        Interlocked.Increment(ref _generation);
        return changed;
    }
}

/// <summary>One running transfer's part of a <see cref="RateBudget"/>: the limit in force for it, until disposed.</summary>
public sealed class RateShare : IDisposable
{
    private readonly RateBudget _budget;
    private readonly Action<long>? _changed;
    private long _limit = -1;
    private int _disposed;

    internal RateShare(RateBudget budget, long requested, Action<long>? changed)
    {
        _budget = budget;
        Requested = requested;
        _changed = changed;
    }

    /// <summary>What the transfer asked for, bit/s (0: no limit of its own).</summary>
    public long Requested { get; }

    /// <summary>The limit in force, bit/s (0: none).</summary>
    public long Limit => Math.Max(0, Interlocked.Read(ref _limit));

    internal bool SetLocked(long limit) => Interlocked.Exchange(ref _limit, limit) != limit;

    internal void OnChanged(long limit) => _changed?.Invoke(limit);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _budget.Leave(this);
        }
    }
}
