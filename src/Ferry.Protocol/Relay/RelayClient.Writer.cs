using System.Text;

namespace Ferry.Protocol.Relay;

/// <summary>Writer side: numbered lines, packed POSTs, a bounded window, go-back retransmission until the POST_ACK.</summary>
public sealed partial class RelayClient
{
    private readonly RetransmissionTimer _writerRtt;

    // Unacknowledged lines: _lines[_head] has writer sequence _writerAckedBelow.
    private readonly List<byte[]> _lines = new();
    private readonly List<long> _sentAt = new();
    private int _head;
    private long _writerAckedBelow;
    private long _sendNext;
    private bool _resentSinceAck;
    private long _writerProgressAt = long.MinValue;

    // After a timeout: one POST from the oldest unacknowledged line is resent (the probe), up to _probeSentEnd; lines up to
    // _probeEnd were sent before the timeout and are not resent unless the probe's answer shows the server lacks them.
    private bool _probe;
    private long _probeEnd;
    private long _probeSentEnd;

    /// <summary>Lines submitted and not yet durably stored by the server.</summary>
    public int UnacknowledgedLines => _lines.Count - _head;

    /// <summary>Every line with a writer sequence below this is durably stored.</summary>
    public long AcknowledgedBelow => _writerAckedBelow;

    /// <summary>Queues a line. Lines longer than <see cref="RelayWire.MaxTextBytes"/> UTF-8 bytes are refused, never truncated.</summary>
    public RelaySubmitResult Submit(string text, out long writerSeq)
    {
        writerSeq = -1;
        if (!_options.Write)
        {
            return RelaySubmitResult.NotWriter;
        }

        if (State is RelayClientState.Closed or RelayClientState.Failed)
        {
            return RelaySubmitResult.Closed;
        }

        if (Encoding.UTF8.GetByteCount(text) > RelayWire.MaxTextBytes)
        {
            return RelaySubmitResult.TooLong;
        }

        if (UnacknowledgedLines >= _options.SubmitQueueLimit)
        {
            return RelaySubmitResult.QueueFull;
        }

        writerSeq = _writerAckedBelow + UnacknowledgedLines;
        _lines.Add(Encoding.UTF8.GetBytes(text));
        _sentAt.Add(long.MaxValue);
        return RelaySubmitResult.Ok;
    }

    // Restarted by every POST_ACK that acknowledges new lines (RFC 6298 5.3), so a server that acknowledges steadily but
    // slowly is not probed for lines that were sent long ago only because the window was deep.
    private long WriterDeadline
        => _sendNext > _writerAckedBelow ? Math.Max(_sentAt[_head], _writerProgressAt) + _writerRtt.Rto : long.MaxValue;

    private void OnWriterRegistered()
    {
        // A new server session may not have our unacknowledged lines: send them all again (it deduplicates).
        _sendNext = _writerAckedBelow;
        _probe = false;
    }

    private void OnWriterTimer(long now)
    {
        if (WriterDeadline <= now)
        {
            // Probe first (as QUIC's PTO): a server that was only slow to acknowledge (a busy store, a loaded host) answers
            // the probe with everything stored, and the rest of the window is not sent twice. A second timeout without
            // progress goes back over the whole window; the server keeps lines that arrived ahead and drops repeats.
            if (_probe)
            {
                _probe = false;
                Stats.LinesRetransmitted += _probeEnd - _writerAckedBelow;
            }
            else
            {
                _probe = true;
                _probeEnd = _sendNext;
                _probeSentEnd = _writerAckedBelow;
            }

            _sendNext = _writerAckedBelow;
            _resentSinceAck = true;
            _writerRtt.Backoff();
        }
    }

    private void OnPostAck(long storedBelow, long now)
    {
        long sentEnd = _writerAckedBelow + UnacknowledgedLines;
        storedBelow = Math.Min(storedBelow, sentEnd);
        if (storedBelow <= _writerAckedBelow)
        {
            return;
        }

        int acked = (int)(storedBelow - _writerAckedBelow);
        if (!_resentSinceAck)
        {
            _writerRtt.Sample(now - _sentAt[_head + acked - 1]);
        }

        _resentSinceAck = false;
        _writerRtt.ResetBackoff();
        _writerProgressAt = now;
        if (_probe)
        {
            // The probe's answer. Nothing stored past the probe's lines: the rest of the old window was lost, send it again.
            // More stored: the server had it and was slow; what is still missing waits for the next timeout.
            _probe = false;
            _sendNext = storedBelow <= _probeSentEnd ? storedBelow : Math.Max(_sendNext, _probeEnd);
        }

        for (int i = 0; i < acked; i++)
        {
            _lines[_head + i] = null!;
        }

        _head += acked;
        _writerAckedBelow = storedBelow;
        _sendNext = Math.Max(_sendNext, _writerAckedBelow);
        if (_head > 1024 && _head * 2 > _lines.Count)
        {
            _lines.RemoveRange(0, _head);
            _sentAt.RemoveRange(0, _head);
            _head = 0;
        }
    }

    private int TryWritePost(Span<byte> buffer, long now)
    {
        long end = _writerAckedBelow + UnacknowledgedLines;
        long windowEnd = Math.Min(end, _writerAckedBelow + _options.WriterWindow);
        if (_sendNext >= windowEnd)
        {
            return 0;
        }

        int pos = RelayCodec.BeginPost(buffer, _session, _sendNext);
        int count = 0;
        while (_sendNext + count < windowEnd && count < ushort.MaxValue)
        {
            int index = _head + (int)(_sendNext + count - _writerAckedBelow);
            if (!RelayCodec.TryAppendPostLine(buffer, ref pos, _lines[index]))
            {
                break;
            }

            _sentAt[index] = now;
            count++;
        }

        _sendNext += count;
        if (_probe && _probeSentEnd <= _writerAckedBelow)
        {
            // This POST was the probe: do not resend the rest of the old window behind it.
            Stats.LinesRetransmitted += count;
            _probeSentEnd = _sendNext;
            _sendNext = Math.Max(_sendNext, _probeEnd);
        }

        Stats.PostDatagrams++;
        return RelayCodec.FinishPost(buffer, pos, count);
    }
}
