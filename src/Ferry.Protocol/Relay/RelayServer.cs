using System.Net;
using Ferry.Protocol.Common;

namespace Ferry.Protocol.Relay;

/// <summary>
/// The relay server as a pure state machine. Feed it datagrams (<see cref="HandleDatagram"/>) and timeouts
/// (<see cref="HandleTimeout"/>) with the current time; drain <see cref="PollTransmit"/>; hand accepted lines
/// (<see cref="TakeAppends"/>) to the store and report back (<see cref="OnAppended"/>); sleep until <see cref="NextWakeup"/>.
/// Not thread-safe: the shell calls it from one thread or under one lock.
/// </summary>
public sealed partial class RelayServer
{
    private readonly RelayServerOptions _options;
    private readonly IRelayHistory _history;
    private readonly Func<ulong> _newSessionId;
    private readonly Dictionary<ulong, RelayServerSession> _sessions = new();
    private readonly Dictionary<ulong, RelayServerSession> _byClient = new();
    private readonly Dictionary<string, RelayServerSession> _byName = new(StringComparer.Ordinal);
    private readonly Queue<(IPEndPoint To, byte[] Datagram)> _replies = new();
    private readonly List<string> _postScratch = new();
    private readonly List<ByteRange> _ackScratch = new();
    private readonly List<RelayServerSession> _sessionScratch = new();

    /// <param name="history">The store's read side; its LastSeq is where new sequence numbers continue.</param>
    /// <param name="newSessionId">Source of unguessable 64-bit session ids (a CSPRNG in production, seeded in tests).</param>
    public RelayServer(RelayServerOptions options, IRelayHistory history, Func<ulong> newSessionId)
    {
        _options = options;
        _history = history;
        _newSessionId = newSessionId;
        int cache = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, options.CacheSize));
        _cache = new RelayMessage[cache];
        _lastSeq = history.LastSeq;
        _cacheFirst = _lastSeq + 1;
        _historyBlocks = new HistoryBlockCache(history, options.HistoryReadSize, options.HistoryBlocks);
    }

    public RelayServerStats Stats { get; } = new();

    /// <summary>Live sessions.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>Newest stored sequence.</summary>
    public long LastSeq => _lastSeq;

    /// <summary>Handles one received datagram from <paramref name="from"/> at <paramref name="now"/> (microseconds).</summary>
    public void HandleDatagram(ReadOnlySpan<byte> datagram, IPEndPoint from, long now)
    {
        Stats.DatagramsReceived++;
        var status = RelayWire.TryOpen(datagram, out var type, out ulong sessionId, out var body);
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

        if (type == RelayPacketType.Register)
        {
            if (sessionId != 0 || !RelayCodec.TryReadRegister(body, out var registration))
            {
                Stats.DroppedMalformed++;
                return;
            }

            HandleRegister(registration!, from, now);
            return;
        }

        if (type is not (RelayPacketType.Post or RelayPacketType.Ack or RelayPacketType.Ping or RelayPacketType.Bye))
        {
            Stats.DroppedMalformed++;
            return;
        }

        if (!_sessions.TryGetValue(sessionId, out var session))
        {
            // The server restarted or the session expired: tell the client to register again.
            // The reply is no larger than the datagram that caused it, so it cannot amplify.
            Stats.UnknownSession++;
            if (type != RelayPacketType.Bye)
            {
                var reply = new byte[RelayWire.HeaderLength + RelayWire.TrailerLength];
                RelayCodec.WriteEmpty(reply, RelayPacketType.UnknownSession, sessionId);
                EnqueueReply(from, reply);
            }

            return;
        }

        session.LastHeard = now;
        if (!session.EndPoint.Equals(from))
        {
            session.EndPoint = from;
        }

        switch (type)
        {
            case RelayPacketType.Post:
                if (!session.IsWriter || !RelayCodec.TryReadPost(body, out long firstSeq, _postScratch))
                {
                    Stats.DroppedMalformed++;
                    return;
                }

                HandlePost(session, firstSeq, _postScratch);
                break;
            case RelayPacketType.Ack:
                if (session.Reader is not { } reader || !RelayCodec.TryReadAck(body, out long next, out uint window, _ackScratch))
                {
                    Stats.DroppedMalformed++;
                    return;
                }

                if (reader.OnAck(next, window, _ackScratch, now))
                {
                    MarkSendable(session);
                }

                break;
            case RelayPacketType.Ping:
                var pong = new byte[RelayWire.HeaderLength + 8 + RelayWire.TrailerLength];
                RelayCodec.WriteU64(pong, RelayPacketType.Pong, session.Id, _lastSeq);
                EnqueueReply(session.EndPoint, pong);
                break;
            case RelayPacketType.Bye:
                RemoveSession(session);
                break;
        }
    }

    /// <summary>Runs every timer that is due: retransmissions, batch releases, idle expiry.</summary>
    public void HandleTimeout(long now)
    {
        _sessionScratch.Clear();
        _sessionScratch.AddRange(_sessions.Values);
        foreach (var s in _sessionScratch)
        {
            if (now - s.LastHeard >= _options.IdleTimeoutMicros)
            {
                Stats.SessionsExpired++;
                RemoveSession(s);
                continue;
            }

            if (s.Reader is { } reader)
            {
                if (reader.OnTimer(now))
                {
                    MarkSendable(s);
                }

                if (s.NextBatchAt <= now)
                {
                    s.ReleasedUpTo = _lastSeq;
                    s.NextBatchAt += s.DelayMicros;
                    if (s.NextBatchAt <= now)
                    {
                        s.NextBatchAt = now + s.DelayMicros;
                    }

                    MarkSendable(s);
                }
            }
        }
    }

    /// <summary>The earliest time <see cref="HandleTimeout"/> has work; long.MaxValue when none.</summary>
    public long NextWakeup()
    {
        long next = long.MaxValue;
        foreach (var s in _sessions.Values)
        {
            next = Math.Min(next, s.LastHeard + _options.IdleTimeoutMicros);
            if (s.Reader is { } reader)
            {
                next = Math.Min(next, Math.Min(reader.TimerDeadline, s.NextBatchAt));
            }
        }

        return next;
    }

    /// <summary>
    /// Writes the next datagram to send into <paramref name="buffer"/>; returns its length, 0 when idle. The buffer must hold
    /// <see cref="RelayWire.MaxDatagram"/> bytes; DELIVERs to readers that asked for more are cut to the buffer's length, so a
    /// buffer of <see cref="RelayServerOptions.MaxDeliverDatagram"/> bytes lets them be as large as agreed.
    /// </summary>
    public int PollTransmit(Span<byte> buffer, long now, out IPEndPoint? destination)
    {
        if (_replies.TryDequeue(out var reply))
        {
            destination = reply.To;
            reply.Datagram.CopyTo(buffer);
            return reply.Datagram.Length;
        }

        while (_postAckQueue.TryDequeue(out var writer))
        {
            writer.PostAckQueued = false;
            if (writer.Removed)
            {
                continue;
            }

            destination = writer.EndPoint;
            return RelayCodec.WriteU64(buffer, RelayPacketType.PostAck, writer.Id, writer.StoredBelow);
        }

        while (_sendQueue.TryDequeue(out var reader))
        {
            reader.InSendQueue = false;
            if (reader.Removed)
            {
                continue;
            }

            int n = TryWriteDeliver(reader, buffer, now);
            if (n > 0)
            {
                // Back of the queue: readers take turns, one datagram each.
                MarkSendable(reader);
                destination = reader.EndPoint;
                return n;
            }
        }

        destination = null;
        return 0;
    }

    private void HandleRegister(RelayRegistration r, IPEndPoint from, long now)
    {
        if (_byClient.TryGetValue(r.ClientId, out var existing) && existing.Name == r.Name
            && existing.IsReader == r.Read && existing.IsWriter == r.Write)
        {
            // A retransmitted REGISTER (our REGISTERED was lost): answer the same.
            existing.EndPoint = from;
            existing.LastHeard = now;
            SendRegistered(existing);
            return;
        }

        if (r.Room.Length != 0)
        {
            Refuse(from, r.ClientId, RelayRefusal.Unsupported, "rooms are not supported by this server (relay protocol version 1 has one shared room)");
            return;
        }

        if (!r.Read && !r.Write)
        {
            Refuse(from, r.ClientId, RelayRefusal.Unsupported, "register as a reader, a writer or both");
            return;
        }

        if (!RelayWire.IsValidName(r.Name))
        {
            Refuse(from, r.ClientId, RelayRefusal.InvalidName, $"user names are 1..{RelayWire.MaxNameBytes} UTF-8 bytes without spaces or control characters");
            return;
        }

        if (r.DelayMillis > RelayWire.MaxDelayMillis)
        {
            Refuse(from, r.ClientId, RelayRefusal.Unsupported, $"delay above {RelayWire.MaxDelayMillis / 1000} s");
            return;
        }

        if (_options.Authorize?.Invoke(r) is { } denied)
        {
            Refuse(from, r.ClientId, RelayRefusal.Unauthorized, denied);
            return;
        }

        if (existing is not null)
        {
            // Same client, different name or role: the old session is replaced.
            RemoveSession(existing);
        }

        if (_byName.TryGetValue(r.Name, out var holder))
        {
            Refuse(from, r.ClientId, RelayRefusal.NameInUse,
                $"the name '{r.Name}' is in use by a live session; choose another name, or wait until that session leaves (idle sessions expire after {_options.IdleTimeoutMicros / 1_000_000} s)");
            return;
        }

        if (_sessions.Count >= _options.MaxSessions)
        {
            Refuse(from, r.ClientId, RelayRefusal.ServerFull, "the server has too many sessions; try again later");
            return;
        }

        ulong id;
        do
        {
            id = _newSessionId();
        }
        while (id == 0 || _sessions.ContainsKey(id));

        var session = new RelayServerSession(id, r, from, now);
        if (r.Read)
        {
            session.MaxDeliver = Math.Clamp(Math.Min(r.MaxDatagram, _options.MaxDeliverDatagram), RelayWire.MaxDatagram, RelayWire.MaxLargeDatagram);
        }

        long readerStart = 0;
        if (r.Read)
        {
            readerStart = ReaderStart(r);
            session.Reader = new ReaderSendState(readerStart, _options.ReaderWindow, _options.MaxReaderWindow,
                new RetransmissionTimer(_options.InitialRtoMicros, _options.MinRtoMicros, _options.MaxRtoMicros));
            if (session.DelayMicros > 0)
            {
                // Nothing is released until the first batch, one delay after registration.
                session.ReleasedUpTo = readerStart - 1;
                session.NextBatchAt = now + session.DelayMicros;
            }
        }

        session.Info = new RelayRegisteredInfo
        {
            ClientId = r.ClientId,
            ReaderStart = readerStart,
            FirstSeq = Math.Max(_history.FirstSeq, 1),
            LastSeq = _lastSeq,
            MaxTextBytes = RelayWire.MaxTextBytes,
            IdleTimeoutMillis = (uint)(_options.IdleTimeoutMicros / 1000),
            KeepaliveMillis = (uint)(_options.KeepaliveMicros / 1000),
            MaxDeliverDatagram = session.MaxDeliver,
        };
        _sessions.Add(id, session);
        _byClient[r.ClientId] = session;
        _byName[r.Name] = session;
        Stats.Registrations++;
        SendRegistered(session);
    }

    private long ReaderStart(RelayRegistration r)
    {
        long first = Math.Max(_history.FirstSeq, 1);
        long live = _lastSeq + 1;
        return r.SinceKind switch
        {
            RelaySinceKind.Sequence => Math.Clamp(r.SinceValue, Math.Min(first, live), live),
            RelaySinceKind.Time => Math.Clamp(_history.FindFirstAtOrAfter(r.SinceValue), Math.Min(first, live), live),
            _ => live,
        };
    }

    private void SendRegistered(RelayServerSession s)
    {
        var datagram = new byte[RelayWire.MaxDatagram];
        int n = RelayCodec.WriteRegistered(datagram, s.Id, s.Info!);
        EnqueueReply(s.EndPoint, datagram.AsSpan(0, n).ToArray());
    }

    private void Refuse(IPEndPoint to, ulong clientId, RelayRefusal reason, string text)
    {
        Stats.Refusals++;
        if (System.Text.Encoding.UTF8.GetByteCount(text) > RelayWire.MaxReasonBytes)
        {
            text = text[..(RelayWire.MaxReasonBytes / 4)];
        }

        var datagram = new byte[RelayWire.MaxDatagram];
        int n = RelayCodec.WriteRefused(datagram, clientId, reason, text);
        EnqueueReply(to, datagram.AsSpan(0, n).ToArray());
    }

    private void EnqueueReply(IPEndPoint to, byte[] datagram)
    {
        if (_replies.Count >= _options.MaxPendingReplies)
        {
            Stats.RepliesDropped++;
            return;
        }

        _replies.Enqueue((to, datagram));
    }

    private void RemoveSession(RelayServerSession s)
    {
        s.Removed = true;
        _sessions.Remove(s.Id);
        if (_byClient.TryGetValue(s.ClientId, out var c) && ReferenceEquals(c, s))
        {
            _byClient.Remove(s.ClientId);
        }

        if (_byName.TryGetValue(s.Name, out var n) && ReferenceEquals(n, s))
        {
            _byName.Remove(s.Name);
        }
    }
}
