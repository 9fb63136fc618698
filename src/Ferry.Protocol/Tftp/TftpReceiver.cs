namespace Ferry.Protocol.Tftp;

/// <summary>
/// The side that receives DATA: a server accepting a write request, or a client reading a file.
/// Only the next expected block is written, so every byte reaches the sink exactly once and in order: a late,
/// duplicated or replayed DATA packet maps (by absolute block number) to a block already written and is dropped,
/// so a late block can never add data (a classic TFTP receiver bug). With a window (RFC 7440) it acknowledges every
/// <see cref="TftpTransferParameters.WindowSize"/> blocks, and once per gap with the last block received in order.
/// </summary>
public sealed class TftpReceiver : TftpSession
{
    private readonly ITftpBlockSink _sink;
    private readonly string? _fileName;
    private readonly IReadOnlyList<TftpOption> _options;
    private readonly bool _isClient;

    private protected override bool IsClientSide => _isClient;
    private long _received;
    private long _lastAcked;
    private long _finalBlock = long.MaxValue;
    private long _bytesReceived;
    private bool _gapReported;

    private TftpReceiver(ITftpBlockSink sink, TftpSessionConfig config, TftpSessionState state, TftpTransferParameters parameters,
        string? fileName, IReadOnlyList<TftpOption> options, bool isClient)
        : base(config, state, parameters)
    {
        _sink = sink;
        _fileName = fileName;
        _options = options;
        _isClient = isClient;
    }

    /// <summary>Bytes written to the sink.</summary>
    public long BytesReceived => _bytesReceived;

    /// <summary>The last block received in order (absolute).</summary>
    public long ReceivedBlock => _received;

    /// <summary>A server accepting a write request: sends the OACK, or ACK 0 when there is none, and waits for block 1.</summary>
    public static TftpReceiver ForServer(ITftpBlockSink sink, TftpServerNegotiation negotiation, TftpSessionConfig config, long nowMicros)
    {
        var receiver = new TftpReceiver(sink, config, TftpSessionState.Transferring, negotiation.Parameters, null, negotiation.Oack, isClient: false);
        receiver.SendInitial();
        receiver.RestartTimer(nowMicros);
        return receiver;
    }

    /// <summary>A client reading <paramref name="fileName"/>: sends the RRQ with <paramref name="options"/>.</summary>
    public static TftpReceiver ForClient(ITftpBlockSink sink, string fileName, IReadOnlyList<TftpOption> options, long localTimeoutMicros,
        TftpSessionConfig config, long nowMicros)
    {
        var parameters = TftpTransferParameters.Default with { TimeoutMicros = localTimeoutMicros };
        var receiver = new TftpReceiver(sink, config, TftpSessionState.Requesting, parameters, fileName, options, isClient: true);
        receiver.SendInitial();
        receiver.RestartTimer(nowMicros);
        return receiver;
    }


    /// <summary>
    /// After <see cref="TftpEventKind.DataComplete"/>: the data is safe (e.g. committed), send the final ACK.
    /// </summary>
    public void ConfirmComplete(long nowMicros)
    {
        if (State == TftpSessionState.AwaitingConfirm)
        {
            FinishWithAck(nowMicros);
        }
    }

    public override void HandleDatagram(ReadOnlySpan<byte> datagram, long nowMicros)
    {
        if (State is TftpSessionState.Completed or TftpSessionState.Failed || !TftpPacketReader.TryReadOpcode(datagram, out var opcode))
        {
            Stats.Dropped++;
            return;
        }

        switch (opcode)
        {
            case TftpOpcode.Error when State != TftpSessionState.Dallying:
                FailFromPeerError(datagram);
                break;
            case TftpOpcode.Data when TftpPacketReader.TryReadData(datagram, out ushort block, out var payload):
                HandleData(block, payload, nowMicros);
                break;
            case TftpOpcode.Oack when State == TftpSessionState.Requesting:
                HandleOack(datagram, nowMicros);
                break;
            case TftpOpcode.Oack when _isClient && State == TftpSessionState.Transferring && _received == 0:
                // The server repeated its OACK: our ACK 0 was lost.
                QueueAck(0);
                break;
            default:
                Stats.Dropped++;
                break;
        }
    }

    private protected override void OnRetransmit(long nowMicros)
    {
        if (State == TftpSessionState.Requesting || (!_isClient && _received == 0))
        {
            SendInitial();
            return;
        }

        // RFC 7440: on timeout the receiver acknowledges the last block received in order.
        AckReceived();
    }

    private protected override int PollData(Span<byte> buffer) => 0;

    private protected override void SendInitial()
    {
        if (_isClient)
        {
            QueueControl(b => TftpPacketWriter.WriteRequest(b, TftpOpcode.Rrq, _fileName!, TftpMode.Octet, _options));
        }
        else if (_options.Count > 0)
        {
            QueueControl(b => TftpPacketWriter.WriteOack(b, _options));
        }
        else
        {
            QueueAck(0);
        }
    }

    private void HandleOack(ReadOnlySpan<byte> datagram, long nowMicros)
    {
        if (!TryApplyOack(datagram, _options, isRead: true))
        {
            return;
        }

        AckReceived();
        RestartTimer(nowMicros);
    }

    private void HandleData(ushort wire, ReadOnlySpan<byte> payload, long nowMicros)
    {
        switch (State)
        {
            case TftpSessionState.Requesting when wire == 1:
                // The server ignored our options and started sending: RFC 1350 defaults apply.
                Parameters = TftpTransferParameters.Default with { TimeoutMicros = Parameters.TimeoutMicros };
                State = TftpSessionState.Transferring;
                Emit(TftpEventKind.Negotiated);
                break;
            case TftpSessionState.Transferring:
                break;
            case TftpSessionState.Dallying when wire == TftpBlockNumber.ToWire(_finalBlock):
                // Our final ACK was lost and the sender retransmitted the last block: acknowledge it again.
                Stats.DuplicateData++;
                QueueAck(_finalBlock);
                return;
            default:
                Stats.DuplicateData++;
                return;
        }

        int blockSize = Parameters.BlockSize;
        if (payload.Length > blockSize)
        {
            FailProtocol(TftpErrorCode.IllegalOperation, $"DATA of {payload.Length} bytes exceeds blksize {blockSize}");
            return;
        }

        long expected = _received + 1;
        int delta = unchecked((ushort)(wire - TftpBlockNumber.ToWire(expected)));
        if (delta == 0)
        {
            // Write first: if the sink throws (disk full), nothing here has moved and the shell aborts.
            _sink.Write((expected - 1) * blockSize, payload);
            _received = expected;
            _bytesReceived += payload.Length;
            PeerReplied = true;
            _gapReported = false;
            RestartTimer(nowMicros);
            if (payload.Length < blockSize)
            {
                _finalBlock = expected;
                if (Config.ConfirmFinalBlock)
                {
                    State = TftpSessionState.AwaitingConfirm;
                    StopTimer();
                    Emit(TftpEventKind.DataComplete);
                }
                else
                {
                    FinishWithAck(nowMicros);
                }
            }
            else if (_received - _lastAcked >= Parameters.WindowSize)
            {
                AckReceived();
            }

            return;
        }

        if (delta < Parameters.WindowSize)
        {
            // Ahead of what we expect: a block of this window was lost. Tell the sender once where we are; it
            // resends from there. Nothing is written out of order.
            Stats.OutOfOrderData++;
            if (!_gapReported)
            {
                _gapReported = true;
                AckReceived();
            }

            return;
        }

        Stats.DuplicateData++;
        if (delta == ushort.MaxValue && _received > 0)
        {
            // A copy of the last block we have: the sender timed out, so our last ACK was probably lost. Answering
            // DATA with an ACK is safe because the sender never answers a duplicate ACK.
            AckReceived();
        }
    }

    private void AckReceived()
    {
        QueueAck(_received);
        _lastAcked = _received;
    }

    private void FinishWithAck(long nowMicros)
    {
        AckReceived();
        Emit(TftpEventKind.Completed);
        if (Config.DallyAfterFinalAck)
        {
            State = TftpSessionState.Dallying;
            RestartTimer(nowMicros);
        }
        else
        {
            State = TftpSessionState.Completed;
            StopTimer();
        }
    }
}
