using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Congestion;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>Incoming packets: duplicate detection, then frame by frame.</summary>
public sealed partial class Connection
{
    private long _lastNow;

    /// <summary>When the last new packet from the peer arrived.</summary>
    public long LastActivity { get; private set; }

    /// <summary>Server: the client's REQUEST arrived (the connection is no longer half-open).</summary>
    public bool HasRequest { get; private set; }

    /// <summary>Handles one packet already validated by <see cref="Packet.TryParse"/> and routed to this connection.</summary>
    public void HandlePacket(long now, in PacketView packet)
    {
        _lastNow = now;
        if (State == ConnectionState.Closed)
        {
            return;
        }

        if (packet.Type == PacketType.Retry)
        {
            OnRetry(packet);
            return;
        }

        if (packet.Type == PacketType.Handshake)
        {
            OnHandshakePacket(packet, now);
            return;
        }

        if (State == ConnectionState.Closing)
        {
            // Answer stray packets with CLOSE, a bounded number of times.
            if (_closeRepeats < 8)
            {
                _closeRepeats++;
                _sendClose = true;
            }

            return;
        }

        // An encrypted session ignores cleartext; a protected packet must authenticate before anything acts.
        var payload = packet.Payload;
        if (packet.Protected)
        {
            if (!TryUnprotect(packet))
            {
                return;
            }

            payload = _plain.AsSpan(0, packet.Payload.Length);
        }
        else if (_keys is not null)
        {
            Stats.CleartextIgnored++;
            return;
        }

        // Validate every frame first, and learn whether the packet elicits an ACK, before any state changes:
        // a malformed packet is dropped whole, and duplicates are recognised before their frames act.
        var scan = new SpanReader(payload);
        bool ackEliciting = false, urgent = false, hasData = false, hasDataFin = false, hasAccept = false, hasRequest = false;
        bool hasHello = false, hasTransfer = false, hasSessionFrame = false;
        while (!scan.End)
        {
            if (!FrameCodec.TryRead(ref scan, _ackScratch, out var f))
            {
                Stats.MalformedPackets++;
                return;
            }

            if (f.Type is not (FrameType.Ack or FrameType.Padding))
            {
                ackEliciting = true;
                urgent |= f.Type is not (FrameType.Data or FrameType.Ping or FrameType.MaxData or FrameType.Stream);
                hasData |= f.Type == FrameType.Data;
                hasDataFin |= f.Type == FrameType.DataFin;
                hasAccept |= f.Type == FrameType.Accept;
                hasRequest |= f.Type == FrameType.Request;
                hasHello |= f.Type == FrameType.Hello;
                hasTransfer |= f.Type is FrameType.Data or FrameType.MaxData or FrameType.Have or FrameType.DataFin or FrameType.Result or FrameType.Stream;
                hasSessionFrame |= !IsHandshakeFrame(f.Type) && f.Type != FrameType.Ping; // a PING asks only for an ACK
            }
        }

        if (!_isDataSender
            && ((hasData && _sink is null && !(hasAccept && _openOnAccept is not null)
                    && !(!IsClient && State == ConnectionState.Handshake && (HasRequest || hasRequest)))
                || (hasDataFin && IsClient && State == ConnectionState.Handshake && !hasAccept)))
        {
            // File data before this side can store it, or a DATA_FIN before it knows the file's size: a GET whose ACCEPT
            // was lost while the data and DATA_FIN that followed it arrived. Acknowledging the packet would tell the
            // sender they arrived; dropping it unacknowledged makes the sender declare it lost and send its frames
            // again (with the ACCEPT, also unacknowledged).
            Stats.EarlyDataDropped++;
            return;
        }

        if ((!IsClient && hasTransfer && !HasRequest && !hasRequest)
            || (!packet.Protected && !_insecureSession && hasSessionFrame && !hasHello))
        {
            // Frames this side cannot act on yet: a transfer's frames before its REQUEST (reordered, or the REQUEST's
            // packet lost), or cleartext frames before the HELLO that makes the session a cleartext one. Acknowledged,
            // they would be lost for good (the sender stops repeating what was acknowledged); unacknowledged, they come
            // again, by then after what they depend on.
            Stats.PrematurePacketsDropped++;
            return;
        }

        Stats.PacketsReceived++;
        if (!_acks.OnPacket(packet.PacketNumber, now, ackEliciting, urgent))
        {
            Stats.DuplicatePackets++;
            return;
        }

        _idleDeadline = now + _config.IdleTimeout;
        LastActivity = now;
        var r = new SpanReader(payload);
        while (!r.End && State is not (ConnectionState.Closed or ConnectionState.Closing))
        {
            FrameCodec.TryRead(ref r, _ackScratch, out var f);
            if (!packet.Protected && !CleartextFrameAllowed(f.Type))
            {
                // Only the handshake travels in cleartext in an encrypted session (HELLO comes first, so a
                // cleartext session is known before its REQUEST).
                continue;
            }

            OnFrame(now, f);
        }
    }

    private void OnRetry(in PacketView packet)
    {
        // Only a client that has not been accepted takes a token, and only the first one.
        if (!IsClient || State != ConnectionState.Handshake || _token.Length != 0 || packet.Token.IsEmpty)
        {
            return;
        }

        _token = packet.Token.ToArray();
        // The Initials sent so far were answered with a Retry, not processed: forget them and resend at once.
        ForgetUnansweredInitials();
        _uploadKeySent = false; // the server never saw it
        _requestSent = false;
        _fileModeSent = false;
        ResetRateCopies();
        _pendingControls |= _neededControls & ~ControlFrames.Ping; // HELLO (and REQUEST in a cleartext session)
        if (_insecureSession)
        {
            StartEarlyData(); // the REQUEST now goes with a token the server acts on
        }
    }

    /// <summary>Drops the Initials sent so far from the flight: the server answered them statelessly and keeps no record to acknowledge them by.</summary>
    private void ForgetUnansweredInitials()
    {
        for (ulong pn = _ledger.Base; pn < _ledger.End; pn++)
        {
            ref var p = ref _ledger[pn];
            if (p.Outstanding)
            {
                p.State = SentPacketState.Lost;
                _bytesInFlight -= p.Size;
                _ackElicitingInFlight--;
                if (p.StreamLength > 0)
                {
                    _stream.OnLost(p.StreamOffset, p.StreamLength);
                }
            }
        }

        _ledger.TrimFront();
    }

    private void OnFrame(long now, in Frame f)
    {
        switch (f.Type)
        {
            case FrameType.Ack:
                OnAckFrame(now, f);
                break;
            case FrameType.Data:
                OnData(f.Offset, f.Data, now);
                break;
            case FrameType.Stream:
                OnStreamFrame(f, now);
                break;
            case FrameType.MaxData:
                _peerMaxData = Math.Max(_peerMaxData, f.Offset);
                break;
            case FrameType.UploadKey:
                // Kept for the REQUEST that follows it; ignored by a client and once the REQUEST is in.
                if (!IsClient && !HasRequest)
                {
                    _uploadKey = f.Data.ToArray();
                }

                break;
            case FrameType.FileMode:
                // As UPLOAD_KEY: kept for the REQUEST that follows it.
                if (!IsClient && !HasRequest)
                {
                    _fileMode = (int)f.Code;
                }

                break;
            case FrameType.RateLimit:
                OnRateLimitFrame(f);
                break;
            case FrameType.Request:
                OnRequest(f, now);
                break;
            case FrameType.Accept:
                OnAccept(f, now);
                break;
            case FrameType.Have:
                if (_isDataSender && State == ConnectionState.Established && (!_sendingStarted || (IsClient && _sentEarly)))
                {
                    var have = new RangeSet();
                    if (!FrameCodec.ReadHaveRanges(f, have, _size))
                    {
                        ProtocolViolation($"HAVE lists bytes past the end of the file ({_size} bytes)", now);
                        return;
                    }

                    if (!_sendingStarted && _source is null)
                    {
                        _jobHave = have; // a JOB_PUT client whose application has not started the job's source yet
                    }
                    else if (!_sendingStarted)
                    {
                        StartSending(have);
                    }
                    else
                    {
                        ApplyLateHave(have);
                    }
                }
                else if (!IsClient && _isDataSender && State == ConnectionState.Handshake && HasRequest && _earlyHave is null)
                {
                    // A GET client's HAVE sent with its REQUEST: kept until the application accepts. The file size is not
                    // known before that, so Accept checks the ranges against it.
                    _earlyHave = new RangeSet();
                    FrameCodec.ReadHaveRanges(f, _earlyHave, FrameCodec.MaxFileSize);
                }

                break;
            case FrameType.DataFin:
                if (!_isDataSender && !_finReceived)
                {
                    if (f.Length != _size)
                    {
                        ProtocolViolation($"DATA_FIN size {f.Length} differs from the file size {_size}", now);
                        return;
                    }

                    _finReceived = true;
                    _expectedSha256 = f.Data.ToArray();
                    CheckReceiveComplete();
                }

                break;
            case FrameType.Result:
                if (_isDataSender && !_resultReceived)
                {
                    _resultReceived = true;
                    _events.Enqueue(new ConnectionEvent(ConnectionEventKind.ResultReceived) { Code = (TransferError)f.Code, Message = f.Text, Size = _size, Sha256 = _sha256 });
                    // The transfer is over either way: say goodbye; the CLOSE also confirms the RESULT.
                    // Its code is the receiver's verdict, so the local Closed event tells the outcome too.
                    _neededControls = ControlFrames.None;
                    _pendingControls = ControlFrames.None;
                    Close((TransferError)f.Code, f.Code == 0 ? "done" : f.Text, now);
                    if (IsClient)
                    {
                        // The client leaves now (the command is over): its CLOSE goes three times, or a receiver that
                        // missed it would repeat its RESULT into the void until its idle timeout.
                        _extraCloseCopies = 2;
                    }
                }

                break;
            case FrameType.Close:
                EnterClosed((TransferError)f.Code, f.Text, byPeer: true, notify: true);
                break;
            case FrameType.Hello:
                OnHello(f, now);
                break;
            case FrameType.ServerHello:
                OnServerHello(f, now);
                break;
        }
    }

    private void OnRequest(in Frame f, long now)
    {
        if (IsClient)
        {
            ProtocolViolation("REQUEST sent to a client", now);
            return;
        }

        if (HasRequest)
        {
            return; // a retransmitted REQUEST
        }

        HasRequest = true;
        if (RefuseRequest(f) is { } refusal)
        {
            // Refused before the application sees it, with a reason the client can show (not dropped: the client would
            // only time out).
            Close(refusal.Code, refusal.Message, now);
            return;
        }

        _op = f.Op;
        _path = f.Text;
        _accessToken = f.Token;
        _isDataSender = f.Op.IsDownload();
        _maxDatagram = Math.Min(f.MaxDatagram, _maxDatagram);
        _cc = _config.CreateController(_maxDatagram);
        _pacer = new Pacer(_maxDatagram);
        if (f.Op is TransferOp.Put or TransferOp.MakeDirectory)
        {
            _size = f.Size;
            _identitySize = f.IdentitySize;
        }

        _identityMtime = f.IdentityMtime;
        _events.Enqueue(new ConnectionEvent(ConnectionEventKind.RequestReceived)
        {
            Op = f.Op,
            Path = f.Text,
            Size = f.Size,
            IdentitySize = f.IdentitySize,
            IdentityMtime = f.IdentityMtime,
            Token = f.Token,
            UploadKey = f.Op is TransferOp.Put or TransferOp.JobPut ? _uploadKey : null,
            FileMode = !f.Op.IsDownload() && _fileMode >= 0 ? _fileMode : null,
            RateLimit = RequestedRateOfPeer,
        });
    }

    /// <summary>What is wrong with a REQUEST no application could act on; null when it is well-formed.</summary>
    private static (TransferError Code, string Message)? RefuseRequest(in Frame f)
    {
        if (f.Op is not (TransferOp.Get or TransferOp.Put or TransferOp.List or TransferOp.MakeDirectory or TransferOp.JobPut or TransferOp.JobGet))
        {
            return (TransferError.ProtocolViolation, $"unknown operation {(byte)f.Op} in REQUEST (1 = GET, 2 = PUT, 3 = LIST, 4 = MKDIR, 5 = JOB_PUT, 6 = JOB_GET)");
        }

        if (f.Op.IsJob() && (f.Size < 1 || f.IdentitySize != 0 || f.IdentityMtime != 0 || f.Text is not { Length: 0 }))
        {
            return (TransferError.ProtocolViolation, "a job's REQUEST has an empty path, the entry count (at least 1) as its size and no identity");
        }

        if (f.Op == TransferOp.MakeDirectory && (f.Size != 0 || f.IdentitySize != 0))
        {
            return (TransferError.ProtocolViolation, "MKDIR in REQUEST with a size: it is an empty file (size 0)");
        }

        if (f.MaxDatagram is < Packet.MinMaxDatagram or > Packet.MaxMaxDatagram)
        {
            return (TransferError.ProtocolViolation,
                $"max datagram {f.MaxDatagram} in REQUEST is outside {Packet.MinMaxDatagram}..{Packet.MaxMaxDatagram}");
        }

        if (f.Text is null)
        {
            return (TransferError.InvalidPath, "the path is not valid UTF-8");
        }

        if (f.Token is null)
        {
            return (TransferError.ProtocolViolation, "the access token is not valid UTF-8");
        }

        return null;
    }

    private void OnAccept(in Frame f, long now)
    {
        if (!IsClient)
        {
            ProtocolViolation("ACCEPT sent to a server", now);
            return;
        }

        if (State != ConnectionState.Handshake)
        {
            return;
        }

        if (f.MaxDatagram < Packet.MinMaxDatagram || f.MaxDatagram > _maxDatagram)
        {
            ProtocolViolation($"max datagram {f.MaxDatagram} in ACCEPT is outside {Packet.MinMaxDatagram}..{_maxDatagram} (the REQUEST's)", now);
            return;
        }

        State = ConnectionState.Established;
        RemoteId = f.ConnectionId;
        _neededControls &= ~ControlFrames.Request;
        _pendingControls &= ~ControlFrames.Request;
        int agreed = f.MaxDatagram;
        if (agreed != _maxDatagram)
        {
            _maxDatagram = agreed;
            _cc = _config.CreateController(_maxDatagram);
            _pacer = new Pacer(_maxDatagram);
        }

        if (_op.IsDownload() || _op == TransferOp.JobPut)
        {
            _size = f.Size;
            _identitySize = f.Size;
            _identityMtime = f.IdentityMtime;
        }

        var accepted = new ConnectionEvent(ConnectionEventKind.Accepted)
        {
            Op = _op,
            Path = _path,
            Size = _size,
            IdentitySize = _identitySize,
            IdentityMtime = f.IdentityMtime,
        };
        _events.Enqueue(accepted);
        if (_openOnAccept is { } open && _op.IsDownload())
        {
            // Opened here, not when the application polls the event: the server's data follows its ACCEPT at once,
            // often in the same batch of datagrams.
            _openOnAccept = null;
            if (open(accepted) is not { } target)
            {
                Close(TransferError.Cancelled, "client cannot write the destination", now);
                return;
            }

            StartReceivingCore(target.Sink, target.Have);
            Queue(ControlFrames.Have | ControlFrames.MaxData);
        }
    }

    private void ProtocolViolation(string message, long now)
    {
        Close(TransferError.ProtocolViolation, message, now);
    }
}
