using System.Text;

namespace Ferry.Protocol.Relay;

/// <summary>
/// A relay client (reader, writer or both) as a pure state machine: <see cref="HandleDatagram"/>, <see cref="HandleTimeout"/>,
/// <see cref="PollTransmit"/>, <see cref="NextWakeup"/>, <see cref="TryPollEvent"/>; lines go in with <see cref="Submit"/>
/// and messages come out, in order and once each, with <see cref="TryReadMessage"/>. Not thread-safe.
/// </summary>
public sealed partial class RelayClient
{
    private readonly RelayClientOptions _options;
    private readonly Queue<RelayClientEvent> _events = new();
    private readonly List<RelayMessage> _deliverScratch = new();
    private readonly RelayNameCache _names = new();

    // Largest datagram accepted: what this client asked for in REGISTER (readers only; everything else stays within 1200).
    private readonly int _maxDatagram;
    private ulong _session;
    private bool _everRegistered;
    private long _registerStartedAt;
    private long _registerNextSendAt;
    private long _registerInterval;
    private long _lastHeard;
    private long _lastSent;
    private long _idleTimeout;
    private long _keepalive;
    private bool _byePending;

    public RelayClient(RelayClientOptions options, long now)
    {
        _options = options;
        _maxDatagram = options.Read ? Math.Clamp(options.MaxDatagram, RelayWire.MaxDatagram, RelayWire.MaxLargeDatagram) : RelayWire.MaxDatagram;
        _writerRtt = new RetransmissionTimer(options.InitialRtoMicros, options.MinRtoMicros, options.MaxRtoMicros);
        _idleTimeout = 15_000_000;
        _keepalive = 3_000_000;
        StartRegistering(now);
    }

    public RelayClientState State { get; private set; }

    public RelayClientStats Stats { get; } = new();

    /// <summary>The server's answer to the last registration.</summary>
    public RelayRegisteredInfo? Info { get; private set; }

    public ulong SessionId => _session;

    public bool TryPollEvent(out RelayClientEvent? e) => _events.TryDequeue(out e);

    /// <summary>Handles one datagram from the server.</summary>
    public void HandleDatagram(ReadOnlySpan<byte> datagram, long now)
    {
        Stats.DatagramsReceived++;
        var status = RelayWire.TryOpen(datagram, _maxDatagram, out var type, out ulong session, out var body);
        if (status != RelayDatagramStatus.Ok)
        {
            if (status == RelayDatagramStatus.BadChecksum)
            {
                Stats.DroppedCorrupt++;
            }
            else
            {
                Stats.DroppedMalformed++;
            }

            return;
        }

        if (State is RelayClientState.Closed or RelayClientState.Failed)
        {
            return;
        }

        switch (type)
        {
            case RelayPacketType.Registered:
                if (!RelayCodec.TryReadRegistered(body, out var info) || info!.ClientId != _options.ClientId || session == 0)
                {
                    Stats.DroppedMalformed++;
                    return;
                }

                if (State == RelayClientState.Registering)
                {
                    OnRegistered(session, info, now);
                }

                return;
            case RelayPacketType.Refused:
                if (!RelayCodec.TryReadRefused(body, out ulong clientId, out var reason, out string text) || clientId != _options.ClientId)
                {
                    Stats.DroppedMalformed++;
                    return;
                }

                if (State == RelayClientState.Registering)
                {
                    State = RelayClientState.Failed;
                    _events.Enqueue(new RelayClientEvent(RelayClientEventKind.Refused) { Refusal = reason, Text = text });
                }

                return;
        }

        if (session != _session || State != RelayClientState.Ready)
        {
            // Late datagrams of an older session, or anything before REGISTERED.
            return;
        }

        _lastHeard = now;
        switch (type)
        {
            case RelayPacketType.PostAck:
                if (!RelayCodec.TryReadU64(body, out long storedBelow))
                {
                    Stats.DroppedMalformed++;
                    return;
                }

                OnPostAck(storedBelow, now);
                break;
            case RelayPacketType.Deliver:
                if (!_options.Read || !RelayCodec.TryReadDeliver(body, out long first, out bool pruned, out int count, _deliverScratch, _names))
                {
                    Stats.DroppedMalformed++;
                    return;
                }

                OnDeliver(first, pruned, count, _deliverScratch, now);
                break;
            case RelayPacketType.Pong:
                break;
            case RelayPacketType.UnknownSession:
                // The server restarted or expired us: register again with the same client id; nothing acknowledged is lost
                // (the server stored it) and nothing unacknowledged is lost (we still hold it).
                Stats.Reregistrations++;
                StartRegistering(now);
                break;
            default:
                Stats.DroppedMalformed++;
                break;
        }
    }

    /// <summary>Runs due timers: registration retries, retransmission, idle detection.</summary>
    public void HandleTimeout(long now)
    {
        switch (State)
        {
            case RelayClientState.Registering:
                if (now - _registerStartedAt >= _options.RegisterTimeoutMicros)
                {
                    Fail($"no answer from the relay server within {_options.RegisterTimeoutMicros / 1_000_000} s");
                }

                break;
            case RelayClientState.Ready:
                if (now - _lastHeard >= _idleTimeout)
                {
                    // Silence: maybe the server restarted without anything to tell us. Register again; that times out if it is gone.
                    Stats.Reregistrations++;
                    StartRegistering(now);
                    break;
                }

                OnWriterTimer(now);
                break;
        }
    }

    /// <summary>Earliest time <see cref="HandleTimeout"/> or <see cref="PollTransmit"/> has timed work; long.MaxValue when none.</summary>
    public long NextWakeup()
    {
        switch (State)
        {
            case RelayClientState.Registering:
                return Math.Min(_registerNextSendAt, _registerStartedAt + _options.RegisterTimeoutMicros);
            case RelayClientState.Ready:
                long next = Math.Min(_lastHeard + _idleTimeout, _lastSent + _keepalive);
                next = Math.Min(next, _ackDeadline);
                return Math.Min(next, WriterDeadline);
            default:
                return _byePending ? 0 : long.MaxValue;
        }
    }

    /// <summary>Writes the next datagram into <paramref name="buffer"/> (at least <see cref="RelayWire.MaxDatagram"/> bytes: a client never sends more); 0 when nothing is due.</summary>
    public int PollTransmit(Span<byte> buffer, long now)
    {
        int n = PollTransmitCore(buffer, now);
        if (n > 0)
        {
            _lastSent = now;
        }

        return n;
    }

    /// <summary>Ends the session: a BYE frees the name at once (if lost, the server's idle timeout does).</summary>
    public void Close()
    {
        if (State == RelayClientState.Ready)
        {
            _byePending = true;
        }

        if (State != RelayClientState.Failed)
        {
            State = RelayClientState.Closed;
        }
    }

    private int PollTransmitCore(Span<byte> buffer, long now)
    {
        switch (State)
        {
            case RelayClientState.Registering:
                if (now < _registerNextSendAt)
                {
                    return 0;
                }

                _registerNextSendAt = now + _registerInterval;
                _registerInterval = Math.Min(_registerInterval * 2, 2_000_000);
                return RelayCodec.WriteRegister(buffer, new RelayRegistration
                {
                    ClientId = _options.ClientId,
                    Name = _options.Name,
                    Read = _options.Read,
                    Write = _options.Write,
                    Token = _options.Token,
                    // Coming back after a server restart: continue exactly where this reader stopped.
                    SinceKind = _everRegistered ? RelaySinceKind.Sequence : _options.SinceKind,
                    SinceValue = _everRegistered ? _next : _options.SinceValue,
                    DelayMillis = _options.DelayMillis,
                    WriterNext = _writerAckedBelow,
                    MaxDatagram = _maxDatagram,
                });
            case RelayClientState.Ready:
                if (_options.Read && (_ackDue || _ackDeadline <= now))
                {
                    return WriteAck(buffer);
                }

                if (_options.Write && TryWritePost(buffer, now) is var p and > 0)
                {
                    return p;
                }

                if (now - _lastSent >= _keepalive)
                {
                    // Readers also re-advertise their window, in case a window update was lost.
                    _ackDue = _options.Read;
                    return RelayCodec.WriteEmpty(buffer, RelayPacketType.Ping, _session);
                }

                return 0;
            case RelayClientState.Closed when _byePending:
                _byePending = false;
                return RelayCodec.WriteEmpty(buffer, RelayPacketType.Bye, _session);
            default:
                return 0;
        }
    }

    private void StartRegistering(long now)
    {
        State = RelayClientState.Registering;
        _registerStartedAt = now;
        _registerNextSendAt = now;
        _registerInterval = _options.RegisterRetryMicros;
    }

    private void OnRegistered(ulong session, RelayRegisteredInfo info, long now)
    {
        _session = session;
        Info = info;
        State = RelayClientState.Ready;
        _lastHeard = now;
        _lastSent = now;
        if (info.IdleTimeoutMillis > 0)
        {
            _idleTimeout = info.IdleTimeoutMillis * 1000L;
        }

        if (info.KeepaliveMillis > 0)
        {
            _keepalive = info.KeepaliveMillis * 1000L;
        }

        if (_options.Read)
        {
            OnReaderRegistered(info);
        }

        if (_options.Write)
        {
            OnWriterRegistered();
        }

        _events.Enqueue(new RelayClientEvent(_everRegistered ? RelayClientEventKind.Reregistered : RelayClientEventKind.Registered) { Info = info });
        _everRegistered = true;
    }

    private void Fail(string text)
    {
        State = RelayClientState.Failed;
        _events.Enqueue(new RelayClientEvent(RelayClientEventKind.TimedOut) { Text = text });
    }

    /// <summary>UTF-8 length of a line as the relay counts it.</summary>
    public static int LineBytes(string text) => Encoding.UTF8.GetByteCount(text);
}
