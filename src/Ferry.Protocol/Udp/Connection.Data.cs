using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>The file-data half of a connection: what the sender still owes and what the receiver holds.</summary>
public sealed partial class Connection
{
    // Sender.
    private IDataSource? _source;
    private bool _sendingStarted;
    private readonly RangeSet _toSend = new();      // never sent yet, in offset order
    private readonly RangeSet _retransmit = new();  // declared lost, not acknowledged since
    private readonly RangeSet _ackedData = new();   // the receiver has it: acknowledged, or listed in its HAVE
    private long _haveAtStart;                      // bytes the receiver already had (resume)
    private long _peerMaxData;                      // flow-control limit from MAX_DATA
    private byte[]? _sha256;
    private bool _resultReceived;

    // Upload client: data sent with the REQUEST, before ACCEPT (at most EarlyDataWindow bytes of the file's start).
    private bool _sentEarly;

    // Upload server: DATA that arrived with the REQUEST, held until the application accepts.
    private List<(long Offset, byte[] Bytes)>? _earlyReceived;
    private RangeSet? _earlyRanges;

    // Receiver.
    private IDataSink? _sink;
    private RangeSet _received;
    private RangeSet? _haveAtOpen;                  // _received when receiving started: what HAVE reports
    private long _maxDataAdvertised;
    private bool _finReceived;
    private byte[]? _expectedSha256;
    private bool _completeSignalled;
    private TransferError _resultCode;
    private string _resultMessage = string.Empty;

    private void StartReceivingCore(IDataSink sink, RangeSet? have)
    {
        _sink = sink;
        _received = new RangeSet();
        _haveAtOpen = new RangeSet();
        if (have is not null)
        {
            foreach (var r in have)
            {
                long end = Math.Min(r.End, _size);
                if (r.Start < end)
                {
                    _received.Add(r.Start, end);
                    _haveAtOpen.Add(r.Start, end);
                }
            }
        }

        _haveAtStart = _haveAtOpen.TotalLength;

        // Never below what was already granted (a client that sent MAX_DATA with its REQUEST, before it knew the size).
        _maxDataAdvertised = Math.Max(_maxDataAdvertised, FlowLimit());
    }

    /// <summary>The receive window: up to <see cref="ConnectionConfig.ReceiveWindow"/> past the first missing byte.</summary>
    private long FlowLimit()
    {
        long limit = Math.Min(_size, _received.ContiguousEnd(0) + _config.ReceiveWindow);
        return _sink is ILimitedDataSink limited ? Math.Min(limit, limited.WritableEnd) : limit;
    }

    /// <summary>
    /// Queues MAX_DATA when the limit grew by an eighth of the receive window, or by a quarter of what is open now (a
    /// limit held back by the sink, which moves in small steps), or reached the end.
    /// </summary>
    private void MaybeAdvertiseMaxData()
    {
        long limit = FlowLimit();
        if (limit <= _maxDataAdvertised)
        {
            return;
        }

        long open = limit - _received.ContiguousEnd(0);
        long step = Math.Min(_config.ReceiveWindow / 8, Math.Max(1, open / 4));
        if (limit - _maxDataAdvertised >= step || limit == _size)
        {
            _maxDataAdvertised = limit;
            Queue(Recovery.ControlFrames.MaxData);
        }
    }

    /// <summary>
    /// How much of a file's start an upload client may send before the server's ACCEPT (and the server must hold
    /// meanwhile): it covers the initial window, so an upload's first round trip of data leaves with its REQUEST.
    /// </summary>
    public const int EarlyDataWindow = 64 * 1024;

    /// <summary>
    /// Upload client whose REQUEST is about to reach a server that will act on it (the address is validated and the
    /// channel set up): start sending the file's first <see cref="EarlyDataWindow"/> bytes now, a round trip before
    /// ACCEPT. The server's HAVE, when it comes, removes what it already holds (a resumed upload).
    /// </summary>
    private void StartEarlyData()
    {
        if (!IsClient || !_isDataSender || _sendingStarted || State != ConnectionState.Handshake || !_config.EarlyData || _op.IsJob())
        {
            return;
        }

        _sentEarly = true;
        _peerMaxData = Math.Max(_peerMaxData, Math.Min(_size, EarlyDataWindow));
        StartSending(new RangeSet());
    }

    /// <summary>Upload client sending data before ACCEPT (the REQUEST is out, ACCEPT not yet in).</summary>
    private bool SendingEarly => _sentEarly && State == ConnectionState.Handshake;

    /// <summary>
    /// Upload client that sent data before ACCEPT: the server's HAVE lists what it had already; none of it is owed.
    /// (A repeated HAVE changes nothing.)
    /// </summary>
    private void ApplyLateHave(RangeSet have)
    {
        TakeHave(have);
        if (_toSend.IsEmpty && _retransmit.IsEmpty)
        {
            QueueDataFin();
        }
    }

    /// <summary>
    /// Sender: the receiver's HAVE (clipped to the file) is owed no more and counts as acknowledged, so loss recovery
    /// never sends it again and <see cref="BytesDone"/> is simply what the receiver holds.
    /// </summary>
    private void TakeHave(RangeSet have)
    {
        long had = 0;
        _receiverHad = new RangeSet();
        foreach (var r in have)
        {
            long end = Math.Min(r.End, _size);
            if (r.Start < end)
            {
                _receiverHad.Add(r.Start, end);
                _toSend.Remove(r.Start, end);
                _retransmit.Remove(r.Start, end);
                _ackedData.Add(r.Start, end);
                had += end - r.Start;
            }
        }

        _haveAtStart = had;
    }

    /// <summary>Upload server before the application accepted: keep DATA that came with the REQUEST (bounded).</summary>
    private void HoldEarlyData(long offset, ReadOnlySpan<byte> data, long now)
    {
        long end = offset + data.Length;
        if (end > _size)
        {
            ProtocolViolation($"DATA beyond the end of the file ({end} > {_size})", now);
            return;
        }

        if (end > EarlyDataWindow)
        {
            Close(TransferError.FlowControl, $"DATA beyond the {EarlyDataWindow} bytes a client may send before ACCEPT ({end})", now);
            return;
        }

        _earlyRanges ??= new RangeSet();
        if (_earlyRanges.ContainsAll(offset, end))
        {
            return;
        }

        _earlyRanges.Add(offset, end);
        (_earlyReceived ??= new()).Add((offset, data.ToArray()));
    }

    /// <summary>Upload server, at Accept: what arrived early goes to the sink now, as if it had just arrived.</summary>
    private void ReplayEarlyData()
    {
        var early = _earlyReceived;
        _earlyReceived = null;
        _earlyRanges = null;
        if (early is not null)
        {
            foreach (var (offset, bytes) in early)
            {
                if (State != ConnectionState.Established)
                {
                    return;
                }

                OnData(offset, bytes, _lastNow);
            }
        }

        CheckReceiveComplete();
    }

    /// <summary>Sender: the receiver's HAVE arrived; everything it lacks is now owed.</summary>
    private void StartSending(RangeSet have)
    {
        if (_sendingStarted)
        {
            return;
        }

        _sendingStarted = true;
        _toSend.Add(0, _size);
        TakeHave(have);
        if (_toSend.IsEmpty)
        {
            QueueDataFin();
        }
    }

    private void QueueDataFin()
    {
        if (_sha256 is not null)
        {
            return;
        }

        if (!_source!.TryCompleteHash(out var sha, out var err, out var msg))
        {
            FailLocal(err, msg);
            return;
        }

        _sha256 = sha;
        Queue(Recovery.ControlFrames.DataFin);
    }

    /// <summary>Receiver: handles one DATA frame, writing only bytes not received before.</summary>
    private void OnData(long offset, ReadOnlySpan<byte> data, long now)
    {
        if (_isDataSender || _sink is null)
        {
            if (!IsClient && !_isDataSender && HasRequest && State == ConnectionState.Handshake)
            {
                HoldEarlyData(offset, data, now);
            }

            // Otherwise a GET client that has not called StartReceiving, or a peer sending the wrong way: drop.
            return;
        }

        long end = offset + data.Length;
        if (end > _size)
        {
            ProtocolViolation($"DATA beyond the end of the file ({end} > {_size})", now);
            return;
        }

        if (end > _maxDataAdvertised)
        {
            Close(TransferError.FlowControl, $"DATA beyond the flow-control limit ({end} > {_maxDataAdvertised})", now);
            return;
        }

        Stats.DataBytesReceived += data.Length;
        if (_received.ContainsAll(offset, end))
        {
            Stats.DuplicateDataBytes += data.Length;
            return;
        }

        if (!_received.Overlaps(offset, end))
        {
            if (!Write(offset, data, now))
            {
                return;
            }
        }
        else
        {
            long fresh = 0;
            foreach (var gap in _received.Gaps(offset, end).ToArray())
            {
                if (!Write(gap.Start, data.Slice((int)(gap.Start - offset), (int)gap.Length), now))
                {
                    return;
                }

                fresh += gap.Length;
            }

            Stats.DuplicateDataBytes += data.Length - fresh;
        }

        if (_received.Count > _config.MaxDataRanges)
        {
            Close(TransferError.FlowControl, $"DATA left more than {_config.MaxDataRanges} separate ranges", now);
            return;
        }

        MaybeAdvertiseMaxData();
        CheckReceiveComplete();
    }

    private bool Write(long offset, ReadOnlySpan<byte> data, long now)
    {
        if (!_sink!.TryWrite(offset, data, out var err, out var msg))
        {
            Close(err, msg, now);
            return false;
        }

        _received.Add(offset, offset + data.Length);
        return true;
    }

    private void CheckReceiveComplete()
    {
        if (_completeSignalled || !_finReceived || _sink is null || !_received.ContainsAll(0, _size))
        {
            return;
        }

        _completeSignalled = true;
        _events.Enqueue(new ConnectionEvent(ConnectionEventKind.DataComplete) { Size = _size, Sha256 = _expectedSha256, Path = _path, Op = _op });
    }

    private void FailLocal(TransferError code, string message)
    {
        // Called from transmit paths that have no clock argument; the closing period starts at the next timeout.
        Close(code, message, _lastNow);
    }
}
