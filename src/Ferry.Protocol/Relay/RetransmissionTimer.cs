using Ferry.Protocol.Udp.Recovery;

namespace Ferry.Protocol.Relay;

/// <summary>
/// The relay's retransmission timeout as in RFC 6298, in microseconds: smoothed RTT plus four deviations (from the
/// one RTT estimator udp:// uses too), clamped to [min, max], with exponential backoff while nothing makes progress.
/// </summary>
internal sealed class RetransmissionTimer
{
    private readonly long _minRto;
    private readonly long _maxRto;
    private readonly RttEstimator _rtt;
    private int _backoffShift;

    public RetransmissionTimer(long initialRto, long minRto, long maxRto)
    {
        _minRto = minRto;
        _maxRto = maxRto;
        _rtt = new RttEstimator(initialRto);
        BaseRto = initialRto;
    }

    /// <summary>RTO before backoff.</summary>
    public long BaseRto { get; private set; }

    /// <summary>Current timeout including backoff, capped at the maximum.</summary>
    public long Rto => Math.Min(_maxRto, BaseRto << _backoffShift);

    public void Sample(long rtt)
    {
        _rtt.Update(rtt, ackDelay: 0);
        BaseRto = Math.Clamp(_rtt.Smoothed + (4 * _rtt.Variance), _minRto, _maxRto);
    }

    /// <summary>Called when an acknowledgement made progress.</summary>
    public void ResetBackoff() => _backoffShift = 0;

    /// <summary>Called when the timer fired without progress.</summary>
    public void Backoff()
    {
        if (_backoffShift < 16)
        {
            _backoffShift++;
        }
    }
}
