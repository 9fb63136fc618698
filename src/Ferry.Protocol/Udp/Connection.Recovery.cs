using Ferry.Protocol.Udp.Congestion;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>Acknowledgements, loss detection and timers (RFC 9002 sections 5 and 6, adapted).</summary>
public sealed partial class Connection
{
    private const int PacketThreshold = 3;
    private const int MaxPtoBackoff = 6;

    private ulong _largestAcked;
    private bool _anyAcked;
    private long _lossTime = long.MaxValue;
    private long _lastAckElicitingSent;
    private int _ptoCount;

    /// <summary>The earliest time at which <see cref="HandleTimeout"/> or <see cref="PollTransmit"/> has work; long.MaxValue for none.</summary>
    public long NextTimeout
    {
        get
        {
            if (State == ConnectionState.Closed)
            {
                return long.MaxValue;
            }

            if (State == ConnectionState.Closing)
            {
                return _sendClose ? 0 : _closeDeadline;
            }

            long t = _idleDeadline;
            if (_acks.HasPending)
            {
                t = Math.Min(t, _acks.Deadline);
            }

            if (_pendingControls != ControlFrames.None || _probesPending > 0)
            {
                return 0;
            }

            t = Math.Min(t, _lossTime != long.MaxValue ? _lossTime : PtoDeadline);
            if (StreamReady && _bytesInFlight + _maxDatagram <= _cc.CongestionWindow)
            {
                // Control stream bytes wait only for the pacer.
                return Math.Min(t, _pacingWake == long.MaxValue ? 0 : _pacingWake);
            }

            return Math.Min(t, _pacingWake);
        }
    }

    private long PtoDeadline => _ackElicitingInFlight > 0
        ? _lastAckElicitingSent + (_rtt.ProbeTimeout(_config.MaxAckDelay) << Math.Min(_ptoCount, MaxPtoBackoff))
        : long.MaxValue;

    /// <summary>Runs whatever timers have expired at <paramref name="now"/>.</summary>
    public void HandleTimeout(long now)
    {
        _lastNow = now;
        if (State == ConnectionState.Closed)
        {
            return;
        }

        if (State == ConnectionState.Closing)
        {
            if (now >= _closeDeadline)
            {
                EnterClosed(_closeCode, _closeMessage, byPeer: false, notify: false);
            }

            return;
        }

        if (now >= _idleDeadline)
        {
            string what = State == ConnectionState.Handshake && IsClient ? "no answer from the server" : "the peer stopped answering";
            _events.Enqueue(new ConnectionEvent(ConnectionEventKind.Closed) { Code = TransferError.IdleTimeout, Message = $"{what} for {_config.IdleTimeout / 1_000_000.0:0.#} s" });
            State = ConnectionState.Closed;
            return;
        }

        if (_lossTime <= now)
        {
            DetectLost(now);
            return;
        }

        if (PtoDeadline <= now)
        {
            _ptoCount++;
            Stats.ProbeTimeouts++;
            _probesPending = 2;
            // Probes carry the reliable control frames still unacknowledged (e.g. a lost REQUEST or RESULT).
            _pendingControls |= _neededControls & ~ControlFrames.Ping;
            // Restart the timer from now so that a silent peer backs us off exponentially.
            _lastAckElicitingSent = now;
        }
    }

    private void OnAckFrame(long now, in Frame f)
    {
        if (f.LargestAcked >= _nextPn)
        {
            ProtocolViolation($"ACK of packet {f.LargestAcked} that was never sent", now);
            return;
        }

        long newlyAcked = 0;
        bool largestNewlyAcked = false;
        long largestSentTime = 0;
        long largestAckedSentTime = 0;
        _rateSampler.BeginAck();
        for (int i = 0; i < f.AckRangeCount; i++)
        {
            var range = _ackScratch[i];
            if (_ledger.Count == 0 || range.Largest < _ledger.Base)
            {
                continue;
            }

            ulong lo = Math.Max(range.Smallest, _ledger.Base);
            ulong hi = Math.Min(range.Largest, _ledger.End - 1);
            for (ulong pn = lo; pn <= hi; pn++)
            {
                ref var p = ref _ledger[pn];
                if (!p.Outstanding)
                {
                    continue;
                }

                p.State = SentPacketState.Acknowledged;
                _bytesInFlight -= p.Size;
                _ackElicitingInFlight--;
                newlyAcked += p.Size;
                _rateSampler.OnPacketAcked(p, now);

                if (pn == f.LargestAcked)
                {
                    largestNewlyAcked = true;
                    largestSentTime = p.TimeSent;
                }

                largestAckedSentTime = Math.Max(largestAckedSentTime, p.TimeSent);
                if (p.DataLength > 0)
                {
                    long end = p.DataOffset + p.DataLength;
                    _ackedData.Add(p.DataOffset, end);
                    _retransmit.Remove(p.DataOffset, end);
                }

                if (p.StreamLength > 0)
                {
                    _stream.OnAcked(p.StreamOffset, p.StreamLength);
                }

                if (p.Controls != ControlFrames.None)
                {
                    _neededControls &= ~(p.Controls & ~(ControlFrames.MaxData | ControlFrames.RateLimit));
                    if ((p.Controls & ControlFrames.Result) != 0 && !_isDataSender)
                    {
                        // Receiver: the sender has our RESULT; nothing more to say.
                        EnterClosed(_resultCode, _resultMessage, byPeer: false, notify: true);
                    }
                }
            }
        }

        if (_ackedData.Count > _config.MaxDataRanges)
        {
            Close(TransferError.FlowControl, $"ACKs left more than {_config.MaxDataRanges} separate acknowledged ranges", now);
            return;
        }

        if (!_anyAcked || f.LargestAcked > _largestAcked)
        {
            _largestAcked = f.LargestAcked;
            _anyAcked = true;
        }

        if (newlyAcked == 0)
        {
            return;
        }

        if (largestNewlyAcked)
        {
            long ackDelay = Math.Min((long)Math.Min(f.AckDelayMicros, long.MaxValue), _config.MaxAckDelay);
            _rtt.Update(now - largestSentTime, ackDelay);
        }

        _ptoCount = 0;
        DetectLost(now);

        _cc.OnAck(new AckEvent(now, newlyAcked, _bytesInFlight, largestAckedSentTime, _rateSampler.Delivered,
            _rateSampler.EndAck(_rtt.MinOrInitial), _rtt.MinOrInitial, _rtt.Smoothed));
        _ledger.TrimFront();
    }

    /// <summary>
    /// True when the latest RTT sample is well above the minimum: a queue is standing somewhere on the path, so a
    /// loss now is more likely a drop at a full queue than random loss. The sample that reveals a loss is the ACK of
    /// a packet sent just after the lost one, which queued behind where it was dropped, so it sees that queue.
    /// </summary>
    private bool QueueingNow => _rtt.HasSample && _rtt.Latest > _rtt.Min + Math.Max(_rtt.Min / 8, RttEstimator.Granularity);

    /// <summary>Declares lost what an ACK of a later packet (by 3 packets or 9/8 RTT) proves missing.</summary>
    private void DetectLost(long now)
    {
        _lossTime = long.MaxValue;
        if (!_anyAcked || _ledger.Count == 0)
        {
            return;
        }

        long lossDelay = _rtt.LossDelay;
        long lostSendTime = now - lossDelay;
        long lostBytes = 0, congestiveBytes = 0, largestLostSentTime = 0;
        bool queueing = QueueingNow;
        ulong end = Math.Min(_largestAcked, _ledger.End - 1);
        for (ulong pn = _ledger.Base; pn <= end && pn >= _ledger.Base; pn++)
        {
            ref var p = ref _ledger[pn];
            if (!p.Outstanding)
            {
                continue;
            }

            if (_largestAcked >= pn + PacketThreshold || p.TimeSent <= lostSendTime)
            {
                p.State = SentPacketState.Lost;
                _bytesInFlight -= p.Size;
                _ackElicitingInFlight--;
                lostBytes += p.Size;
                if (queueing)
                {
                    congestiveBytes += p.Size;
                }
                else
                {
                    _rateSampler.OnRandomLoss(p.Size);
                }

                largestLostSentTime = Math.Max(largestLostSentTime, p.TimeSent);
                Stats.PacketsLost++;
                if (p.DataLength > 0)
                {
                    // Only what the receiver has not acknowledged meanwhile goes back in the queue.
                    foreach (var gap in _ackedData.Gaps(p.DataOffset, p.DataOffset + p.DataLength))
                    {
                        _retransmit.Add(gap.Start, gap.End);
                    }
                }

                if (p.StreamLength > 0)
                {
                    _stream.OnLost(p.StreamOffset, p.StreamLength);
                }

                _pendingControls |= p.Controls & _neededControls & ~ControlFrames.Ping;
                // MAX_DATA and RATE_LIMIT carry the newest value whenever sent: a lost one is sent again even if a later
                // copy was already acknowledged.
                _pendingControls |= p.Controls & (ControlFrames.MaxData | ControlFrames.RateLimit);
            }
            else
            {
                _lossTime = Math.Min(_lossTime, p.TimeSent + lossDelay);
            }
        }

        if (lostBytes > 0)
        {
            _cc.OnLoss(now, lostBytes, congestiveBytes, largestLostSentTime, _bytesInFlight);
        }

        _ledger.TrimFront();
    }
}
