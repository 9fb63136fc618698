namespace Ferry.Protocol.Relay;

/// <summary>Smoothed RTT and retransmission timeout as in RFC 6298, in microseconds, with exponential backoff.</summary>
internal sealed class RttEstimator
{
    private readonly long _minRto;
    private readonly long _maxRto;
    private long _srtt;
    private long _rttVar;
    private bool _hasSample;
    private int _backoffShift;

    public RttEstimator(long initialRto, long minRto, long maxRto)
    {
        _minRto = minRto;
        _maxRto = maxRto;
        BaseRto = initialRto;
    }

    /// <summary>RTO before backoff.</summary>
    public long BaseRto { get; private set; }

    /// <summary>Current timeout including backoff, capped at the maximum.</summary>
    public long Rto => Math.Min(_maxRto, BaseRto << _backoffShift);

    public long SmoothedRtt => _srtt;

    public void Sample(long rtt)
    {
        rtt = Math.Max(rtt, 1);
        if (!_hasSample)
        {
            _srtt = rtt;
            _rttVar = rtt / 2;
            _hasSample = true;
        }
        else
        {
            _rttVar = (3 * _rttVar + Math.Abs(_srtt - rtt)) / 4;
            _srtt = (7 * _srtt + rtt) / 8;
        }

        BaseRto = Math.Clamp(_srtt + 4 * _rttVar, _minRto, _maxRto);
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
