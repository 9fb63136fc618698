using Ferry.Protocol.Common;

namespace Ferry.Protocol.Relay;

/// <summary>
/// Server-side delivery state of one reader: what was sent, what the reader acknowledged, what must be resent.
/// Sequences identify data; a DELIVER is only a container, so a retransmission may pack data differently.
/// The send window bounds the in-flight ledger: memory per reader is O(window); history is shared (<see cref="HistoryBlockCache"/>).
/// </summary>
internal sealed class ReaderSendState
{
    /// <summary>Packets sent after a lost one that must be acknowledged before it is declared lost (as in RFC 9002).</summary>
    private const int PacketThreshold = 3;

    private readonly List<RelaySentPacket> _inFlight = new();
    private readonly List<RelaySentPacket> _scratch = new();
    private readonly int _minWindow;
    private readonly int _maxWindow;
    private long _lastProgressAt = long.MinValue;

    public ReaderSendState(long start, int window, int maxWindow, RetransmissionTimer rtt)
    {
        _minWindow = Math.Max(1, Math.Min(window, 16));
        _maxWindow = Math.Max(window, maxWindow);
        Start = start;
        Next = start;
        AckedBelow = start;
        PeerWindowEnd = start;
        Window = window;
        Rtt = rtt;
    }

    /// <summary>First sequence this reader asked for.</summary>
    public long Start { get; }

    /// <summary>Next never-sent sequence.</summary>
    public long Next { get; private set; }

    /// <summary>Every sequence below this was acknowledged.</summary>
    public long AckedBelow { get; private set; }

    /// <summary>Acknowledged sequences above <see cref="AckedBelow"/>.</summary>
    public RangeSet AckedAbove { get; } = new();

    /// <summary>Sequences declared lost and waiting to be resent.</summary>
    public RangeSet Lost { get; } = new();

    /// <summary>The reader accepts sequences below this (its ACK's next + window). Zero window until the first ACK, which also proves the address.</summary>
    public long PeerWindowEnd { get; private set; }

    /// <summary>
    /// Most sequences between <see cref="AckedBelow"/> and <see cref="Next"/>. Starts at the configured window, grows by what
    /// each ACK acknowledges (doubling per round trip) up to the maximum, halves on loss: a fast reader gets a deep pipe,
    /// a lossy one a shallow one. The reader's advertised window bounds it too.
    /// </summary>
    public int Window { get; private set; }

    public RetransmissionTimer Rtt { get; }

    public int InFlightPackets => _inFlight.Count;

    /// <summary>True when a DELIVER could be sent now; <paramref name="releasedUpTo"/> is the newest sequence this reader may get.</summary>
    public bool HasSendable(long releasedUpTo)
        => !Lost.IsEmpty || (Next <= releasedUpTo && Next < AckedBelow + Window && Next < PeerWindowEnd);

    /// <summary>The exclusive end of new data that may be sent now.</summary>
    public long NewDataEnd(long releasedUpTo) => Math.Min(Math.Min(releasedUpTo + 1, AckedBelow + Window), PeerWindowEnd);

    public void OnSent(long first, int count, long now, bool retransmit)
    {
        if (retransmit)
        {
            Lost.Remove(first, first + count);
        }
        else
        {
            Next = first + count;
        }

        _inFlight.Add(new RelaySentPacket(first, count, now, retransmit));
    }

    /// <summary>Processes an ACK; returns true when the reader may now be sent more (progress, window opened or loss found).</summary>
    public bool OnAck(long next, uint window, List<ByteRange> ranges, long now)
    {
        // A reader cannot acknowledge what was never sent; clamp instead of trusting it.
        next = Math.Min(next, Next);
        bool progress = false;
        long oldWindowEnd = PeerWindowEnd;
        if (next > AckedBelow)
        {
            Window = (int)Math.Min(_maxWindow, Window + (next - AckedBelow));
            AckedBelow = next;
            AckedAbove.Remove(0, next);
            Lost.Remove(0, next);
            progress = true;
        }

        PeerWindowEnd = Math.Max(next, AckedBelow) + window;
        foreach (var r in ranges)
        {
            long end = Math.Min(r.End, Next);
            if (end > r.Start && end > AckedBelow)
            {
                long start = Math.Max(r.Start, AckedBelow);
                if (AckedAbove.Add(start, end) > 0)
                {
                    progress = true;
                }

                Lost.Remove(start, end);
            }
        }

        // Retire acknowledged packets, take an RTT sample, and find the newest packet with anything acknowledged.
        int largestAcked = -1;
        long sampleSentAt = -1;
        for (int i = 0; i < _inFlight.Count; i++)
        {
            var p = _inFlight[i];
            if (IsAcked(p.First, p.End))
            {
                largestAcked = i;
                if (!p.Retransmit)
                {
                    sampleSentAt = Math.Max(sampleSentAt, p.SentAt);
                }
            }
            else if (p.End > AckedBelow && AckedAbove.Overlaps(Math.Max(p.First, AckedBelow), p.End))
            {
                largestAcked = i;
            }
        }

        if (sampleSentAt >= 0)
        {
            Rtt.Sample(now - sampleSentAt);
        }

        bool lost = false;
        _scratch.Clear();
        for (int i = 0; i < _inFlight.Count; i++)
        {
            var p = _inFlight[i];
            if (IsAcked(p.First, p.End))
            {
                continue;
            }

            if (i <= largestAcked - PacketThreshold)
            {
                MarkLost(p);
                lost = true;
                continue;
            }

            _scratch.Add(p);
        }

        _inFlight.Clear();
        _inFlight.AddRange(_scratch);
        if (lost)
        {
            Shrink();
        }

        if (progress)
        {
            Rtt.ResetBackoff();
            _lastProgressAt = now;
        }

        return progress || lost || PeerWindowEnd > oldWindowEnd;
    }

    /// <summary>When the oldest packet in flight times out; long.MaxValue when nothing is in flight.</summary>
    /// <remarks>
    /// Restarted by every ACK that acknowledges new data (RFC 6298 5.3): with a deep window a slow but steadily acknowledging
    /// reader has old packets in flight, and timing them from their send time alone fired spurious probes.
    /// </remarks>
    public long TimerDeadline => _inFlight.Count == 0 ? long.MaxValue : Math.Max(_inFlight[0].SentAt, _lastProgressAt) + Rtt.Rto;

    /// <summary>
    /// On a retransmission timeout, declares only the oldest packet lost (a probe, as QUIC's PTO): if the reader merely
    /// acknowledged late (a busy host), one packet is resent instead of the whole window; if more was lost, the probe's ACK
    /// reveals it through the packet threshold. Returns true when something must be resent.
    /// </summary>
    public bool OnTimer(long now)
    {
        if (TimerDeadline > now)
        {
            return false;
        }

        // The next probe waits a full (backed-off) RTO from this one.
        _lastProgressAt = now;

        // No window cut: a timeout on a busy host is usually a late ACK, not congestion; real loss shows in the probe's ACK.
        MarkLost(_inFlight[0]);
        _inFlight.RemoveAt(0);
        Rtt.Backoff();
        return !Lost.IsEmpty;
    }

    private void Shrink() => Window = Math.Max(_minWindow, Window / 2);

    private bool IsAcked(long first, long end)
        => end <= AckedBelow || AckedAbove.ContainsAll(Math.Max(first, AckedBelow), end);

    private void MarkLost(RelaySentPacket p)
    {
        long from = Math.Max(p.First, AckedBelow);
        if (from >= p.End)
        {
            return;
        }

        foreach (var gap in AckedAbove.Gaps(from, p.End))
        {
            Lost.Add(gap.Start, gap.End);
        }
    }
}
