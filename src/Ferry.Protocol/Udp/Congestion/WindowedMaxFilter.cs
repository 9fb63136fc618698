namespace Ferry.Protocol.Udp.Congestion;

/// <summary>
/// Running maximum over a window of "time" (here: round trips), keeping the best three samples as in
/// Kathleen Nichols' algorithm used by Linux BBR (lib/win_minmax.c).
/// </summary>
public struct WindowedMaxFilter
{
    private (long Time, long Value) _s0, _s1, _s2;

    public readonly long Best => _s0.Value;

    public void Reset(long time, long value)
    {
        _s0 = _s1 = _s2 = (time, value);
    }

    public void Update(long time, long value, long window)
    {
        var sample = (time, value);
        if (value >= _s0.Value || time - _s2.Time > window)
        {
            Reset(time, value);
            return;
        }

        if (value >= _s1.Value)
        {
            _s2 = _s1 = sample;
        }
        else if (value >= _s2.Value)
        {
            _s2 = sample;
        }

        long dt = time - _s0.Time;
        if (dt > window)
        {
            _s0 = _s1;
            _s1 = _s2;
            _s2 = sample;
            if (time - _s0.Time > window)
            {
                _s0 = _s1;
                _s1 = _s2;
                _s2 = sample;
            }
        }
        else if (_s1.Time == _s0.Time && dt > window / 4)
        {
            _s2 = _s1 = sample;
        }
        else if (_s2.Time == _s1.Time && dt > window / 2)
        {
            _s2 = sample;
        }
    }
}
