namespace Ferry.Protocol.Tftp;

/// <summary>
/// What the TFTP sender and receiver share: lifecycle, retransmission timer with backoff, control packets waiting
/// to go out, and events. Pure: time is an argument, output is polled, nothing here touches a socket or a file.
/// The shell's loop is: <see cref="HandleDatagram"/> or <see cref="HandleTimeout"/>, then drain
/// <see cref="TryPollEvent"/> and <see cref="PollTransmit"/>, then sleep until <see cref="NextWakeupMicros"/>.
/// </summary>
public abstract class TftpSession
{
    private readonly Queue<TftpEvent> _events = new();
    private readonly byte[] _control = new byte[TftpLimits.MaxRequestLength];
    private int _controlLength;
    private long _deadline = long.MaxValue;
    private int _consecutiveTimeouts;

    private protected TftpSession(TftpSessionConfig config, TftpSessionState initialState, TftpTransferParameters parameters)
    {
        Config = config;
        State = initialState;
        Parameters = parameters;
    }

    public TftpSessionState State { get; private protected set; }

    /// <summary>Negotiated parameters (RFC 1350 defaults until negotiation settles).</summary>
    public TftpTransferParameters Parameters { get; private protected set; }

    public TftpSessionConfig Config { get; }

    public TftpStats Stats { get; } = new();

    /// <summary>Set once the session failed.</summary>
    public TftpFailure? Failure { get; private set; }

    /// <summary>True once a valid packet came from the peer's transfer ID (the peer proved it receives at its address).</summary>
    public bool PeerReplied { get; private protected set; }

    /// <summary>Completed or failed: the shell can free the session once transmits are drained.</summary>
    public bool IsFinished => State is TftpSessionState.Completed or TftpSessionState.Failed;

    /// <summary>When <see cref="HandleTimeout"/> wants to run next; <see cref="long.MaxValue"/> for never.</summary>
    public long NextWakeupMicros => _deadline;

    /// <summary>Consecutive timeouts since the last progress.</summary>
    public int ConsecutiveTimeouts => _consecutiveTimeouts;

    /// <summary>
    /// Server: the client sent its request again (our first packet was lost, or is late). Before the client has
    /// answered, this is the only way the first packet is repeated: one packet per request received.
    /// </summary>
    public void HandleRequestRetransmission(long nowMicros)
    {
        if (!IsClientSide && !PeerReplied && !IsFinished)
        {
            // The client is still asking: answer once more and give it a full timeout again.
            SendInitial();
            RestartTimer(nowMicros);
        }
    }

    /// <summary>True for the client's end of a transfer (it sent the request).</summary>
    private protected abstract bool IsClientSide { get; }

    /// <summary>Queues the session's first packet: the request (client) or the first DATA / OACK / ACK (server).</summary>
    private protected abstract void SendInitial();

    /// <summary>Feeds one datagram that came from the peer's transfer ID (the shell filters other sources).</summary>
    public abstract void HandleDatagram(ReadOnlySpan<byte> datagram, long nowMicros);

    /// <summary>Runs the timer: retransmits, ends a dally, or drops a silent peer. Early calls do nothing.</summary>
    public void HandleTimeout(long nowMicros)
    {
        if (nowMicros < _deadline || IsFinished)
        {
            return;
        }

        if (State == TftpSessionState.Dallying)
        {
            _deadline = long.MaxValue;
            State = TftpSessionState.Completed;
            return;
        }

        Stats.Timeouts++;
        _consecutiveTimeouts++;
        if (_consecutiveTimeouts >= (PeerReplied ? Config.MaxTimeouts : Config.MaxTimeoutsBeforeReply))
        {
            _deadline = long.MaxValue;
            Fail(new TftpFailure(TftpFailureReason.PeerGone, TftpErrorCode.NotDefined,
                $"no answer from the peer after {_consecutiveTimeouts} timeouts"), sendError: false);
            return;
        }

        _deadline = nowMicros + CurrentInterval();
        if (PeerReplied || Config.RetransmitBeforePeerReply)
        {
            OnRetransmit(nowMicros);
        }
    }

    /// <summary>
    /// Writes the next packet to send into <paramref name="buffer"/> (at least <see cref="TftpLimits.MaxPacketLength"/>
    /// or blksize + 4 bytes) and returns its length; 0 when there is nothing to send.
    /// </summary>
    public int PollTransmit(Span<byte> buffer)
    {
        if (_controlLength > 0)
        {
            _control.AsSpan(0, _controlLength).CopyTo(buffer);
            int n = _controlLength;
            _controlLength = 0;
            return n;
        }

        return IsFinished ? 0 : PollData(buffer);
    }

    public bool TryPollEvent(out TftpEvent e) => _events.TryDequeue(out e);

    /// <summary>Ends the transfer from the local side: sends ERROR(<paramref name="code"/>, <paramref name="message"/>).</summary>
    public void Abort(TftpErrorCode code, string message)
    {
        if (IsFinished || State == TftpSessionState.Dallying)
        {
            return;
        }

        Fail(new TftpFailure(TftpFailureReason.LocalAbort, code, message), sendError: true);
    }

    private protected abstract int PollData(Span<byte> buffer);

    /// <summary>Called by a timeout that should retransmit.</summary>
    private protected abstract void OnRetransmit(long nowMicros);

    /// <summary>Queues one control packet (it replaces any control packet not yet sent: only the latest matters).</summary>
    private protected void QueueControl(Func<byte[], int> write) => _controlLength = write(_control);

    private protected void QueueAck(long absoluteBlock)
    {
        _controlLength = TftpPacketWriter.WriteAck(_control, TftpBlockNumber.ToWire(absoluteBlock));
        Stats.AcksSent++;
    }

    private protected bool HasPendingControl => _controlLength > 0;

    /// <summary>Progress: the timer restarts at the base interval and the timeout count clears.</summary>
    private protected void RestartTimer(long nowMicros)
    {
        _consecutiveTimeouts = 0;
        _deadline = nowMicros + Parameters.TimeoutMicros;
    }

    private protected void StopTimer() => _deadline = long.MaxValue;

    private protected void ArmTimer(long deadline) => _deadline = deadline;

    private protected void Emit(TftpEventKind kind) => _events.Enqueue(new TftpEvent(kind));

    private protected void Fail(TftpFailure failure, bool sendError)
    {
        Failure = failure;
        State = TftpSessionState.Failed;
        _deadline = long.MaxValue;
        if (sendError)
        {
            QueueControl(b => TftpPacketWriter.WriteError(b, failure.Code, failure.Message));
        }
        else
        {
            _controlLength = 0;
        }

        _events.Enqueue(new TftpEvent(TftpEventKind.Failed, failure));
    }

    /// <summary>An ERROR from the peer ends the session; never answer an ERROR (that could loop).</summary>
    private protected void FailFromPeerError(ReadOnlySpan<byte> datagram)
    {
        if (TftpPacketReader.TryReadError(datagram, out var code, out string message))
        {
            Fail(new TftpFailure(TftpFailureReason.PeerError, code, message.Length > 0 ? message : code.ToString()), sendError: false);
        }
        else
        {
            Stats.Dropped++;
        }
    }

    /// <summary>
    /// Client: validates the server's OACK against the options requested and adopts the negotiated parameters.
    /// Returns false (the session has failed with ERROR 8) when the OACK is malformed or grants what was not asked.
    /// </summary>
    private protected bool TryApplyOack(ReadOnlySpan<byte> datagram, IReadOnlyList<TftpOption> requested, bool isRead)
    {
        if (TftpPacketReader.ReadOack(datagram, out var granted) != TftpParseError.None)
        {
            FailProtocol(TftpErrorCode.OptionNegotiation, "malformed OACK");
            return false;
        }

        if (!TftpNegotiation.TryAcceptOack(requested, granted, isRead, Parameters.TimeoutMicros, out var parameters, out string? error))
        {
            FailProtocol(TftpErrorCode.OptionNegotiation, error!);
            return false;
        }

        Parameters = parameters;
        PeerReplied = true;
        State = TftpSessionState.Transferring;
        Emit(TftpEventKind.Negotiated);
        return true;
    }

    private protected void FailProtocol(TftpErrorCode code, string message) =>
        Fail(new TftpFailure(TftpFailureReason.ProtocolViolation, code, message), sendError: true);

    private long CurrentInterval()
    {
        // Doubling backoff from the negotiated timeout, capped at a small multiple of it.
        long max = Parameters.TimeoutMicros * Math.Max(1, Config.MaxBackoffMultiplier);
        long interval = Parameters.TimeoutMicros;
        for (int i = 0; i < _consecutiveTimeouts && interval < max; i++)
        {
            interval *= 2;
        }

        return Math.Min(interval, max);
    }
}
