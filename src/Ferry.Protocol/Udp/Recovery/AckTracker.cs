using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp.Recovery;

/// <summary>
/// Receive side of acknowledgement: which packet numbers arrived, and when an ACK frame is due.
/// ACKs go out after <see cref="AckEveryPackets"/> ack-eliciting packets, after the max ack delay,
/// or at once when a packet arrives out of order or carries a control frame.
/// </summary>
public sealed class AckTracker
{
    /// <summary>Most ranges kept (and reported); older ranges are forgotten, which is safe because data is identified by offset.</summary>
    public const int MaxRanges = 32;

    private readonly RangeSet _received = new();
    private readonly AckRange[] _scratch = new AckRange[MaxRanges];
    private int _unacked;
    private long _deadline = long.MaxValue;
    private bool _immediate;
    private long _largestTime;

    // Packet numbers below this are refused: their ranges were forgotten, so a replayed or very late packet
    // there cannot be told from a new one. Dropping it is safe (data is retransmitted by offset).
    private long _floor;

    public AckTracker(int ackEveryPackets, long maxAckDelay)
    {
        AckEveryPackets = ackEveryPackets;
        MaxAckDelay = maxAckDelay;
    }

    public int AckEveryPackets { get; }

    public long MaxAckDelay { get; }

    public ulong Largest { get; private set; }

    public bool HasReceived => !_received.IsEmpty;

    /// <summary>When the pending ACK must be sent, or long.MaxValue.</summary>
    public long Deadline => _immediate ? 0 : _deadline;

    /// <summary>
    /// Records packet <paramref name="pn"/>. Returns false for a duplicate that must be ignored entirely.
    /// </summary>
    public bool OnPacket(ulong pn, long now, bool ackEliciting, bool urgent)
    {
        long n = (long)pn;
        if (n < _floor)
        {
            return false;
        }

        if (_received.Contains(n))
        {
            // A duplicate still elicits an ACK: our previous one may have been lost.
            _immediate |= ackEliciting;
            return false;
        }

        bool outOfOrder = HasReceived && (pn != Largest + 1);
        _received.Add(n, n + 1);
        if (_received.Count > MaxRanges)
        {
            _received.TrimLowest(MaxRanges);
            _floor = _received[0].Start;
        }
        if (pn >= Largest || _received.Count == 1)
        {
            Largest = pn;
            _largestTime = now;
        }

        if (ackEliciting)
        {
            _unacked++;
            if (_deadline == long.MaxValue)
            {
                _deadline = now + MaxAckDelay;
            }

            if (_unacked >= AckEveryPackets || urgent || outOfOrder)
            {
                _immediate = true;
            }
        }

        return true;
    }

    /// <summary>True when an ACK frame should be sent now.</summary>
    public bool IsDue(long now) => _immediate || now >= _deadline;

    /// <summary>True when there is anything to acknowledge (used to piggyback ACKs on outgoing packets).</summary>
    public bool HasPending => _unacked > 0 || _immediate;

    /// <summary>Writes an ACK frame of what was received; returns false if it does not fit.</summary>
    public bool TryWrite(ref SpanWriter w, long now)
    {
        if (_received.IsEmpty)
        {
            return false;
        }

        int n = 0;
        for (int i = _received.Count - 1; i >= 0 && n < _scratch.Length; i--)
        {
            var r = _received[i];
            _scratch[n++] = new AckRange((ulong)r.Start, (ulong)r.End - 1);
        }

        ulong delay = (ulong)Math.Max(0, now - _largestTime);
        // Fewer ranges if the full frame does not fit.
        while (n > 1 && FrameCodec.AckSize(_scratch.AsSpan(0, n), delay) > w.Remaining)
        {
            n--;
        }

        if (!FrameCodec.TryWriteAck(ref w, _scratch.AsSpan(0, n), delay))
        {
            return false;
        }

        _unacked = 0;
        _immediate = false;
        _deadline = long.MaxValue;
        return true;
    }
}
