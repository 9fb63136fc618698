using Ferry.Hosting;
using Ferry.Protocol.Udp;

namespace Ferry.Udp;

/// <summary>
/// The udp:// listener's part of the server's <see cref="RateBudget"/>: one share per running GET or PUT, whose limit
/// the connection applies (a GET's sending) or tells its client (a PUT's). Used from the listener's loop thread only;
/// a division made by another protocol's transfer is picked up by <see cref="Apply"/> on the next turn of the loop.
/// </summary>
internal sealed class UdpRateShares(RateBudget budget)
{
    private readonly Dictionary<Connection, RateShare> _shares = new();
    private long _generation = -1;

    /// <summary>A GET or PUT is accepted: it takes its share, asking for what its client asked (null: nothing said).</summary>
    public void Join(Connection c, long? requested)
    {
        Leave(c);
        var share = budget.Join(requested ?? 0);
        _shares[c] = share;
        c.SetRateLimit(share.Limit);
    }

    /// <summary>The transfer's data has moved (or it ended): its share goes back to the others.</summary>
    public void Leave(Connection c)
    {
        if (_shares.Remove(c, out var share))
        {
            share.Dispose();
        }
    }

    /// <summary>Gives every connection its current limit if the shares were divided again since the last call.</summary>
    public void Apply()
    {
        long generation = budget.Generation;
        if (generation == _generation)
        {
            return;
        }

        _generation = generation;
        foreach (var (c, share) in _shares)
        {
            c.SetRateLimit(share.Limit);
        }
    }
}
