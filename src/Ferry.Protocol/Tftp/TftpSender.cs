namespace Ferry.Protocol.Tftp;

/// <summary>
/// The side that sends DATA: a server answering a read request, or a client writing a file.
/// Sends one window (RFC 7440; 1 block in classic TFTP) per acknowledgement that moves the window forward.
/// Retransmits only when its timer expires, never because of a duplicate ACK: answering duplicates is what makes
/// the Sorcerer's Apprentice bug (RFC 1123 4.2.3.1) double the traffic at every loss.
/// Block numbers are tracked as absolute 64-bit values, so a late or replayed ACK cannot move the window to a
/// block that was never sent, and the 16-bit wire number may roll over for files beyond 65535 blocks.
/// </summary>
public sealed class TftpSender : TftpSession
{
    private readonly ITftpBlockSource _source;
    private readonly string? _fileName;
    private readonly IReadOnlyList<TftpOption> _options;
    private readonly bool _isClient;

    private protected override bool IsClientSide => _isClient;
    private long _acked;
    private long _highestSent;
    private long _nextToSend = 1;
    private long _burstEnd;
    private long _lastBlock = long.MaxValue;
    private int _lastLength;

    private TftpSender(ITftpBlockSource source, TftpSessionConfig config, TftpSessionState state, TftpTransferParameters parameters,
        string? fileName, IReadOnlyList<TftpOption> options, bool isClient)
        : base(config, state, parameters)
    {
        _source = source;
        _fileName = fileName;
        _options = options;
        _isClient = isClient;
    }

    /// <summary>The last block acknowledged by the peer (absolute; 0 before the first).</summary>
    public long AckedBlock => _acked;

    /// <summary>Bytes the peer has acknowledged.</summary>
    public long BytesAcknowledged => _acked >= _lastBlock
        ? ((_lastBlock - 1) * Parameters.BlockSize) + _lastLength
        : _acked * Parameters.BlockSize;

    /// <summary>
    /// A server answering a read request: sends the OACK (when the negotiation produced one) and waits for ACK 0,
    /// or sends block 1 at once.
    /// </summary>
    public static TftpSender ForServer(ITftpBlockSource source, TftpServerNegotiation negotiation, TftpSessionConfig config, long nowMicros)
    {
        bool oack = negotiation.Oack.Count > 0;
        var sender = new TftpSender(source, config, oack ? TftpSessionState.Negotiating : TftpSessionState.Transferring,
            negotiation.Parameters, null, negotiation.Oack, isClient: false);
        sender.SendInitial();
        sender.RestartTimer(nowMicros);
        return sender;
    }

    /// <summary>A client writing <paramref name="fileName"/>: sends the WRQ with <paramref name="options"/>.</summary>
    public static TftpSender ForClient(ITftpBlockSource source, string fileName, IReadOnlyList<TftpOption> options, long localTimeoutMicros,
        TftpSessionConfig config, long nowMicros)
    {
        var parameters = TftpTransferParameters.Default with { TimeoutMicros = localTimeoutMicros };
        var sender = new TftpSender(source, config, TftpSessionState.Requesting, parameters, fileName, options, isClient: true);
        sender.SendInitial();
        sender.RestartTimer(nowMicros);
        return sender;
    }


    public override void HandleDatagram(ReadOnlySpan<byte> datagram, long nowMicros)
    {
        if (IsFinished || !TftpPacketReader.TryReadOpcode(datagram, out var opcode))
        {
            Stats.Dropped++;
            return;
        }

        switch (opcode)
        {
            case TftpOpcode.Error:
                FailFromPeerError(datagram);
                break;
            case TftpOpcode.Ack when TftpPacketReader.TryReadAck(datagram, out ushort block):
                HandleAck(block, nowMicros);
                break;
            case TftpOpcode.Oack when State == TftpSessionState.Requesting:
                HandleOack(datagram, nowMicros);
                break;
            default:
                Stats.Dropped++;
                break;
        }
    }

    private protected override void OnRetransmit(long nowMicros)
    {
        if (State == TftpSessionState.Transferring)
        {
            StartBurst();
        }
        else
        {
            SendInitial();
        }
    }

    private protected override int PollData(Span<byte> buffer)
    {
        if (State != TftpSessionState.Transferring || _nextToSend > _burstEnd)
        {
            return 0;
        }

        long block = _nextToSend;
        int blockSize = Parameters.BlockSize;
        int n = _source.Read((block - 1) * blockSize, buffer.Slice(TftpLimits.DataHeaderLength, blockSize));
        if (n < blockSize)
        {
            // A short block (possibly empty) ends the transfer: nothing after it is ever sent.
            _lastBlock = block;
            _lastLength = n;
            _burstEnd = block;
        }

        TftpPacketWriter.WriteDataHeader(buffer, TftpBlockNumber.ToWire(block));
        _nextToSend++;
        Stats.DataPacketsSent++;
        if (block <= _highestSent)
        {
            Stats.DataRetransmitted++;
        }
        else
        {
            _highestSent = block;
        }

        return TftpLimits.DataHeaderLength + n;
    }

    private protected override void SendInitial()
    {
        switch (State)
        {
            case TftpSessionState.Requesting:
                QueueControl(b => TftpPacketWriter.WriteRequest(b, TftpOpcode.Wrq, _fileName!, TftpMode.Octet, _options));
                break;
            case TftpSessionState.Negotiating:
                QueueControl(b => TftpPacketWriter.WriteOack(b, _options));
                break;
            case TftpSessionState.Transferring:
                StartBurst();
                break;
        }
    }

    private void HandleAck(ushort wire, long nowMicros)
    {
        switch (State)
        {
            case TftpSessionState.Requesting or TftpSessionState.Negotiating when wire == 0:
                // ACK 0 answers our WRQ (the server ignored every option) or our OACK.
                PeerReplied = true;
                if (State == TftpSessionState.Requesting)
                {
                    Parameters = TftpTransferParameters.Default with { TimeoutMicros = Parameters.TimeoutMicros };
                    Emit(TftpEventKind.Negotiated);
                }

                State = TftpSessionState.Transferring;
                StartBurst();
                RestartTimer(nowMicros);
                return;
            case TftpSessionState.Transferring:
                break;
            default:
                Stats.Dropped++;
                return;
        }

        long block = TftpBlockNumber.FromWire(wire, _acked);
        if (block == _acked)
        {
            // Already acknowledged: a duplicate, a late copy, or the receiver repeating itself. Not a reason to send.
            Stats.DuplicateAcks++;
            return;
        }

        if (block > _highestSent)
        {
            // Older than the last acknowledged block (it maps beyond the blocks in flight) or for a block never sent.
            Stats.StaleAcks++;
            return;
        }

        _acked = block;
        PeerReplied = true;
        if (_acked >= _lastBlock)
        {
            State = TftpSessionState.Completed;
            StopTimer();
            Emit(TftpEventKind.Completed);
            return;
        }

        StartBurst();
        RestartTimer(nowMicros);
    }

    private void HandleOack(ReadOnlySpan<byte> datagram, long nowMicros)
    {
        if (!TryApplyOack(datagram, _options, isRead: false))
        {
            return;
        }

        // An OACK to a WRQ is acknowledged by sending block 1.
        StartBurst();
        RestartTimer(nowMicros);
    }

    /// <summary>Queues the window after the last acknowledged block; earlier blocks are never sent again.</summary>
    private void StartBurst()
    {
        _nextToSend = _acked + 1;
        _burstEnd = Math.Min(_acked + Parameters.WindowSize, _lastBlock);
    }
}
