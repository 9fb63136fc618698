namespace Ferry.Bench.WanEmu;

/// <summary>
/// A FIFO link of fixed rate with a drop-tail queue, computed rather than simulated: on arrival each packet is
/// given the time its last bit leaves the bottleneck. The queue holds the packets whose departure is still in the
/// future (the one being serialized included), so no timer is needed until delivery, and the long-run output rate
/// is exact however late the delivery thread wakes up.
/// </summary>
internal sealed class DropTailBottleneck
{
    private readonly long[] _departures;
    private readonly double _nanosPerByte;
    private int _head;
    private int _count;
    private long _lastDeparture;

    public DropTailBottleneck(long rateBitsPerSecond, int queuePackets)
    {
        _nanosPerByte = rateBitsPerSecond > 0 ? 8e9 / rateBitsPerSecond : 0;
        _departures = new long[Math.Max(1, queuePackets)];
    }

    /// <summary>Packets in the queue after the last <see cref="TryAdmit"/>.</summary>
    public int Depth => _count;

    /// <summary>Admits a packet of <paramref name="bytes"/> arriving at <paramref name="now"/>, or refuses it when the
    /// queue is full (a tail drop).</summary>
    public bool TryAdmit(long now, int bytes, out long departure)
    {
        if (_nanosPerByte == 0)
        {
            departure = now;
            return true;
        }

        while (_count > 0 && _departures[_head] <= now)
        {
            _head = _head + 1 == _departures.Length ? 0 : _head + 1;
            _count--;
        }

        if (_count == _departures.Length)
        {
            departure = 0;
            return false;
        }

        long start = Math.Max(now, _lastDeparture);
        departure = start + (long)(bytes * _nanosPerByte);
        _lastDeparture = departure;
        int tail = _head + _count;
        _departures[tail >= _departures.Length ? tail - _departures.Length : tail] = departure;
        _count++;
        return true;
    }
}
