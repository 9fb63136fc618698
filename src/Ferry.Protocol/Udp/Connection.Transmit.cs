using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>Outgoing packets: ACKs, control frames, then as much file data as congestion, pacing and flow control allow.</summary>
public sealed partial class Connection
{
    private long _bytesInFlight;
    private int _ackElicitingInFlight;
    private int _probesPending;
    private long _pacingWake = long.MaxValue;
    private bool _tailSentTwice;
    private int _dataFinCopies;

    private readonly DeliveryRateSampler _rateSampler = new();

    /// <summary>
    /// Writes the next datagram to send into <paramref name="buffer"/> and returns its length, or 0 when
    /// nothing may be sent now (then <see cref="NextTimeout"/> says when to ask again).
    /// </summary>
    public int PollTransmit(long now, Span<byte> buffer)
    {
        _lastNow = now;
        _pacingWake = long.MaxValue;
        if (State == ConnectionState.Closed)
        {
            return 0;
        }

        int max = Math.Min(buffer.Length, _maxDatagram);
        if (State == ConnectionState.Closing)
        {
            return _sendClose ? WriteClosePacket(buffer[..max]) : 0;
        }

        bool handshake = IsClient && State == ConnectionState.Handshake;
        if (handshake)
        {
            max = Math.Min(max, Packet.MinInitialSize);
        }

        bool ackDue = _acks.IsDue(now);
        bool controls = _pendingControls != ControlFrames.None;
        bool probe = _probesPending > 0;
        bool data = (!handshake || SendingEarly) && DataAllowed(now);
        bool stream = StreamReady && (data || WindowAllows(now));
        if (!ackDue && !controls && !probe && !data && !stream)
        {
            return 0;
        }

        int headerEnd = WritePacketHeader(buffer, initial: handshake);

        // The server's SERVER_HELLO goes in cleartext (the client has no keys yet), alone with an ACK.
        bool serverHello = !IsClient && (_pendingControls & ControlFrames.ServerHello) != 0;
        bool cleartext = _keys is null || serverHello;
        int trailer = TrailerFor(cleartext);
        var w = new SpanWriter(buffer[headerEnd..(max - trailer)]);
        if (_acks.HasPending || ackDue)
        {
            _acks.TryWrite(ref w, now);
        }

        var sent = new SentPacket { Number = _nextPn - 1, TimeSent = now };
        if (serverHello)
        {
            if (FrameCodec.TryWriteHello(ref w, FrameType.ServerHello, _serverHello))
            {
                Mark(ref sent, ControlFrames.ServerHello);
            }

            int helloLength = SealPacket(buffer, headerEnd, headerEnd + w.Position, cleartext: true);
            sent.Size = helloLength;
            Stats.PacketsSent++;
            Stats.BytesSent += helloLength;
            if (probe)
            {
                _probesPending--;
            }

            RecordSent(ref sent, now);
            return helloLength;
        }

        WriteControls(ref w, ref sent);
        if (stream && (sent.Controls & ControlFrames.Request) == 0)
        {
            WriteStreamFrame(ref w, ref sent);
        }

        if (probe && !sent.AckEliciting)
        {
            FrameCodec.TryWritePing(ref w);
            sent.AckEliciting = true;
            sent.Controls |= ControlFrames.Ping;
        }

        if (probe)
        {
            _probesPending--;
        }

        if (data && w.Remaining > FrameCodec.DataOverhead(_size, w.Remaining) && (State == ConnectionState.Established || SendingEarly))
        {
            WriteData(ref w, ref sent, probe);
        }

        if (handshake)
        {
            // Pad Initials so the server may answer with up to three times what it received.
            int padTo = Packet.MinInitialSize - trailer - headerEnd;
            while (w.Position < padTo && w.Remaining > 0)
            {
                w.WriteByte((byte)FrameType.Padding);
            }
        }

        int length = SealPacket(buffer, headerEnd, headerEnd + w.Position, cleartext);
        sent.Size = length;
        Stats.PacketsSent++;
        Stats.BytesSent += length;
        if (sent.AckEliciting)
        {
            RecordSent(ref sent, now);
        }

        return length;
    }

    /// <summary>Writes the header of the next packet: an Initial (client id and token) or a Data packet.</summary>
    private int WritePacketHeader(Span<byte> buffer, bool initial)
    {
        ulong pn = _nextPn++;
        if (!initial)
        {
            return Packet.WriteHeader(buffer, PacketType.Data, RemoteId, pn);
        }

        int pos = Packet.WriteHeader(buffer, PacketType.Initial, 0, pn);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(buffer[pos..], LocalId);
        // No token yet: an encrypting client offers to take a stateless SERVER_HELLO instead of a Retry.
        var token = _token.Length == 0 && _offerStatelessHello ? Packet.StatelessHelloOffer : _token;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(buffer[(pos + 8)..], (ushort)token.Length);
        token.CopyTo(buffer[(pos + 10)..]);
        return pos + 10 + token.Length;
    }

    private void WriteControls(ref SpanWriter w, ref SentPacket sent)
    {
        var pending = _pendingControls;
        if (pending == ControlFrames.None)
        {
            return;
        }

        if ((pending & ControlFrames.Hello) != 0 && WriteHello(ref w))
        {
            Mark(ref sent, ControlFrames.Hello);
        }

        if ((pending & ControlFrames.Request) != 0)
        {
            // The upload key and the file mode go right before the REQUEST, in the same packet, and only once (see
            // _uploadKey).
            var before = w;
            bool withKey = _uploadKey is not null && !_uploadKeySent && FrameCodec.TryWriteUploadKey(ref w, _uploadKey);
            bool withMode = _fileMode >= 0 && !_fileModeSent && FrameCodec.TryWriteFileMode(ref w, _fileMode);
            WriteRateLimitBeforeRequest(ref w, out bool withRate);
            if (FrameCodec.TryWriteRequest(ref w, _op, _maxDatagram, _path, _op.IsJob() ? _jobEntries : _size, _identitySize, _identityMtime, _accessToken))
            {
                Mark(ref sent, ControlFrames.Request);
                _requestSent = true;
                _uploadKeySent |= withKey;
                _fileModeSent |= withMode;
                OnRequestWritten(withRate);
            }
            else
            {
                w = before;
            }
        }

        WriteRateLimitControl(ref w, ref sent); // before ACCEPT, in the same packet
        if ((pending & ControlFrames.Accept) != 0
            && FrameCodec.TryWriteAccept(ref w, LocalId, _maxDatagram, _size, _identityMtime))
        {
            Mark(ref sent, ControlFrames.Accept);
        }

        if ((pending & ControlFrames.Have) != 0)
        {
            // What this side held when it started receiving (resume), not what arrived since (early data, or data that
            // followed ACCEPT): the peer counts HAVE's ranges as resumed bytes.
            var had = _haveAtOpen ?? _received;
            int n = Math.Min(had.Count, FrameCodec.MaxHaveRanges);
            var ranges = new (long, long)[n];
            for (int i = 0; i < n; i++)
            {
                ranges[i] = (had[i].Start, had[i].Length);
            }

            if (FrameCodec.TryWriteHave(ref w, ranges, complete: n == had.Count))
            {
                Mark(ref sent, ControlFrames.Have);
            }
        }

        if ((pending & ControlFrames.MaxData) != 0 && FrameCodec.TryWriteMaxData(ref w, _maxDataAdvertised))
        {
            Mark(ref sent, ControlFrames.MaxData);
        }

        if ((pending & ControlFrames.DataFin) != 0 && _sha256 is not null && FrameCodec.TryWriteDataFin(ref w, _size, _sha256))
        {
            Mark(ref sent, ControlFrames.DataFin);
            if (_dataFinCopies > 0)
            {
                _dataFinCopies--;
                _pendingControls |= ControlFrames.DataFin; // the tail's second copy (see WriteData)
            }
        }

        if ((pending & ControlFrames.Result) != 0
            && FrameCodec.TryWriteCodeMessage(ref w, FrameType.Result, (long)_resultCode, _resultMessage))
        {
            Mark(ref sent, ControlFrames.Result);
        }
    }

    private static readonly byte[] s_insecureHello = [Ferry.Protocol.Security.HandshakeMessages.Version, Ferry.Protocol.Security.HandshakeMessages.SuiteNone];

    private bool WriteHello(ref SpanWriter w)
    {
        if (_clientHandshake is not null)
        {
            return FrameCodec.TryWriteHello(ref w, FrameType.Hello, _clientHandshake.Hello);
        }

        return FrameCodec.TryWriteHello(ref w, FrameType.Hello, s_insecureHello);
    }

    private void Mark(ref SentPacket sent, ControlFrames frame)
    {
        _pendingControls &= ~frame;
        sent.Controls |= frame;
        sent.AckEliciting = true;
    }

    /// <summary>True when file data is owed and congestion control, pacing and flow control let it go now.</summary>
    private bool DataAllowed(long now)
    {
        if (!_isDataSender || !_sendingStarted || !(State == ConnectionState.Established || SendingEarly))
        {
            return false;
        }

        bool owed = !_retransmit.IsEmpty || (!_toSend.IsEmpty && _toSend.First.Start < _peerMaxData);
        if (!owed)
        {
            // Nothing to send although the window may be open: mark samples app-limited.
            if (_bytesInFlight < _cc.CongestionWindow)
            {
                _rateSampler.OnAppLimited(_bytesInFlight);
            }

            return false;
        }

        if (!WindowAllows(now))
        {
            return false;
        }

        // File data also waits for the rate limit, if any (control frames do not count against it).
        long wake = RateLimitWake(now);
        if (wake != 0 && _probesPending == 0)
        {
            _pacingWake = wake;
            return false;
        }

        return true;
    }

    private void WriteData(ref SpanWriter w, ref SentPacket sent, bool probe)
    {
        long offset;
        int length;
        int room = w.Remaining - FrameCodec.DataOverhead(_size, w.Remaining);
        bool retransmission = !_retransmit.IsEmpty;
        if (retransmission)
        {
            _retransmit.TryTakeFirst(room, out var r);
            offset = r.Start;
            length = (int)r.Length;
        }
        else
        {
            var first = _toSend.First;
            long limit = Math.Min(room, _peerMaxData - first.Start);
            _toSend.TryTakeFirst(limit, out var r);
            offset = r.Start;
            length = (int)r.Length;
        }

        FrameCodec.WriteDataHeader(ref w, offset, length);
        if (!_source!.TryRead(offset, w.Free[..length], out var err, out var msg))
        {
            FailLocal(err, msg);
            return;
        }

        w.Advance(length);
        sent.DataOffset = offset;
        sent.DataLength = length;
        sent.AckEliciting = true;
        Stats.DataBytesSent += length;
        if (retransmission)
        {
            Stats.DataBytesRetransmitted += length;
        }

        _pacer.OnSent(length + 40);
        OnDataSentUnderLimit(length);
        if (!retransmission && _toSend.IsEmpty)
        {
            QueueDataFin();
            if (!_tailSentTwice)
            {
                // The last packets of a transfer have no later packet whose ACK would reveal their loss: only the probe
                // timeout would (a third of a second on a 200 ms path, seen on the emulated WAN). So the last bytes go
                // a second time in the next packet, with DATA_FIN, and DATA_FIN once more in the one after: any one
                // of the three may be lost without waiting for the timeout. Two small packets per transfer.
                _tailSentTwice = true;
                _retransmit.Add(offset, offset + length);
                _dataFinCopies = 1;
            }
        }
    }

    private void RecordSent(ref SentPacket sent, long now)
    {
        // Handshake and request packets do not fill the path: their round trips include the peer's think time
        // (checking a key, opening a file, a cold start), which Startup would otherwise read as a standing queue
        // and leave at a few kbit/s, regaining the link only by 1.25x probes (seen on the emulated WAN: uploads
        // took 2-3 s to reach the link rate instead of 0.5 s).
        bool fillsPath = _isDataSender && _sendingStarted && State == ConnectionState.Established;
        _rateSampler.OnPacketSent(ref sent, now, _bytesInFlight, fillsPath);
        _cc.OnPacketSent(now, sent.Size, _bytesInFlight);
        _bytesInFlight += sent.Size;
        _ackElicitingInFlight++;
        _lastAckElicitingSent = now;
        _ledger.Add(sent);
    }

    private int WriteClosePacket(Span<byte> buffer)
    {
        _sendClose = _extraCloseCopies > 0;
        if (_sendClose)
        {
            _extraCloseCopies--;
        }

        // A client never accepted is known to the server only by its Initials, which are exactly 1200 bytes.
        bool initial = IsClient && RemoteId == 0;
        if (initial)
        {
            buffer = buffer[..Packet.MinInitialSize];
        }

        int headerEnd = WritePacketHeader(buffer, initial);

        var w = new SpanWriter(buffer[headerEnd..^TrailerFor(cleartext: false)]);
        if (_closeWithResult)
        {
            FrameCodec.TryWriteCodeMessage(ref w, FrameType.Result, (long)_resultCode, _resultMessage);
        }

        if (!FrameCodec.TryWriteCodeMessage(ref w, FrameType.Close, (long)_closeCode, _closeMessage))
        {
            // A long message in a 1200-byte Initial: the code matters more than the whole text.
            FrameCodec.TryWriteCodeMessage(ref w, FrameType.Close, (long)_closeCode, _closeMessage[..Math.Min(_closeMessage.Length, 100)]);
        }

        while (initial && w.Remaining > 0)
        {
            w.WriteByte((byte)FrameType.Padding);
        }

        int length = SealPacket(buffer, headerEnd, headerEnd + w.Position, cleartext: false);
        Stats.PacketsSent++;
        Stats.BytesSent += length;
        return length;
    }
}
