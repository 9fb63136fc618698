using System.Security.Cryptography;

namespace Ferry.Protocol.Security;

/// <summary>Counters of an envelope server.</summary>
public sealed class EnvelopeStats
{
    public long Hellos;
    public long HellosRateLimited;
    public long HandshakesCompleted;
    public long HalfOpenEvicted;
    public long RefusedBusy;
    public long Dropped;
    public long BytesIn;
    public long BytesOut;
}

/// <summary>
/// The server end of the secure envelope for many peers: answers HELLOs (rate-limited per source, with global
/// bounds on sessions and half-open handshakes), opens sealed datagrams, seals replies. One session per peer
/// (address and port). Pure: the caller passes the time and owns the socket.
/// </summary>
/// <typeparam name="TPeer">The peer's address and port as the shell represents it.</typeparam>
public sealed class EnvelopeServer<TPeer> : IDisposable
    where TPeer : notnull
{
    private readonly string _protocol;
    private readonly ServerKeyPair? _identity;
    private readonly Func<ECDiffieHellman> _newEphemeral;
    private readonly Action<Span<byte>> _fillRandom;
    private readonly int _epochBits;
    private readonly Dictionary<TPeer, Session> _sessions = new();
    private readonly Dictionary<UInt128, int> _perSource = new(); // half-open sessions per source address
    private readonly Dictionary<UInt128, (double Tokens, long Last)> _buckets = new();

    public EnvelopeServer(string protocol, ServerKeyPair? identity, EnvelopeLimits? limits = null,
        Func<ECDiffieHellman>? newEphemeral = null, Action<Span<byte>>? fillRandom = null, int epochBits = PacketProtector.DefaultEpochBits)
    {
        _protocol = protocol;
        _identity = identity;
        Limits = limits ?? new EnvelopeLimits();
        _newEphemeral = newEphemeral ?? (() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256));
        _fillRandom = fillRandom ?? RandomNumberGenerator.Fill;
        _epochBits = epochBits;
    }

    public EnvelopeLimits Limits { get; }

    public EnvelopeStats Stats { get; } = new();

    public int Count => _sessions.Count;

    public int HalfOpen { get; private set; }

    /// <summary>True when <paramref name="peer"/> has a session (replies to it must be sealed).</summary>
    public bool HasSession(TPeer peer) => _sessions.ContainsKey(peer);

    /// <summary>
    /// Handles one envelope datagram (<see cref="Envelope.IsEnvelope"/> was true) from <paramref name="peer"/>,
    /// whose address (without port) is <paramref name="source"/>. Returns <see cref="EnvelopeEvent.Opened"/> with
    /// the inner datagram in <paramref name="output"/>, <see cref="EnvelopeEvent.Reply"/> with a datagram to send
    /// back, or <see cref="EnvelopeEvent.Dropped"/>.
    /// </summary>
    public EnvelopeEvent Handle(ReadOnlySpan<byte> datagram, TPeer peer, UInt128 source, long now, Span<byte> output, out int length)
    {
        length = 0;
        Stats.BytesIn += datagram.Length;
        if (!Envelope.IsEnvelope(datagram))
        {
            Stats.Dropped++;
            return EnvelopeEvent.Dropped;
        }

        ulong channel = Envelope.ChannelOf(datagram);
        switch (datagram[1])
        {
            case Envelope.TypeHello:
                return OnHello(datagram, peer, source, channel, now, output, out length);
            case Envelope.TypeSealed:
            {
                if (datagram.Length < Envelope.Overhead)
                {
                    Stats.Dropped++;
                    return EnvelopeEvent.Dropped; // too short to be sealed (and a refusal would be longer than it)
                }

                if (!_sessions.TryGetValue(peer, out var s) || s.Channel != channel)
                {
                    // Forgotten (restart, expiry): tell the client to shake hands again, in fewer bytes than arrived.
                    Stats.Dropped++;
                    length = Envelope.WriteRefused(output, channel, Envelope.RefusedUnknownChannel, string.Empty);
                    Stats.BytesOut += length;
                    return EnvelopeEvent.Reply;
                }

                length = Envelope.Open(s.Keys, s.Replay, datagram, output);
                if (length < 0)
                {
                    length = 0;
                    Stats.Dropped++;
                    return EnvelopeEvent.Dropped;
                }

                if (!s.Authenticated)
                {
                    s.Authenticated = true;
                    HalfOpen--;
                    ReleaseHalfOpen(s.Source);
                    Stats.HandshakesCompleted++;
                }

                s.LastActivity = now;
                return EnvelopeEvent.Opened;
            }

            default:
                Stats.Dropped++;
                return EnvelopeEvent.Dropped;
        }
    }

    /// <summary>Seals a reply for <paramref name="peer"/>; -1 when it has no session.</summary>
    public int Seal(TPeer peer, ReadOnlySpan<byte> inner, Span<byte> output)
    {
        if (!_sessions.TryGetValue(peer, out var s))
        {
            return -1;
        }

        int n = Envelope.Seal(s.Keys, s.Channel, ref s.SendCounter, inner, output);
        Stats.BytesOut += n;
        return n;
    }

    /// <summary>Forgets idle and stale half-open sessions.</summary>
    public void Sweep(long now)
    {
        List<TPeer>? expired = null;
        foreach (var (peer, s) in _sessions)
        {
            long limit = s.Authenticated ? Limits.IdleMicros : Limits.HalfOpenMicros;
            if (now - s.LastActivity > limit)
            {
                (expired ??= new()).Add(peer);
            }
        }

        foreach (var peer in expired ?? [])
        {
            Remove(peer);
        }
    }

    /// <summary>Forgets <paramref name="peer"/>'s session (its client said goodbye).</summary>
    public void Remove(TPeer peer)
    {
        if (!_sessions.Remove(peer, out var s))
        {
            return;
        }

        if (!s.Authenticated)
        {
            HalfOpen--;
            ReleaseHalfOpen(s.Source);
        }

        s.Keys.Dispose();
    }

    private void ReleaseHalfOpen(UInt128 source)
    {
        if (_perSource.TryGetValue(source, out int n))
        {
            if (n <= 1)
            {
                _perSource.Remove(source);
            }
            else
            {
                _perSource[source] = n - 1;
            }
        }
    }

    public void Dispose()
    {
        foreach (var s in _sessions.Values)
        {
            s.Keys.Dispose();
        }

        _sessions.Clear();
    }

    private EnvelopeEvent OnHello(ReadOnlySpan<byte> datagram, TPeer peer, UInt128 source, ulong channel, long now, Span<byte> output, out int length)
    {
        length = 0;
        Stats.Hellos++;
        if (datagram.Length < Envelope.HelloSize || channel == 0)
        {
            // Unpadded hellos would let a spoofed source make us an amplifier.
            Stats.Dropped++;
            return EnvelopeEvent.Dropped;
        }

        if (_sessions.TryGetValue(peer, out var existing) && existing.Channel == channel)
        {
            // A retransmitted HELLO: the same answer again, no new key agreement.
            existing.LastActivity = now;
            return Reply(existing.ServerHello, output, out length);
        }

        if (!TakeToken(source, now))
        {
            Stats.HellosRateLimited++;
            return EnvelopeEvent.Dropped;
        }

        if (_identity is null)
        {
            length = Envelope.WriteRefused(output, channel, Envelope.RefusedEncryptionUnavailable, "this server has no key and serves unencrypted clients only: use --insecure");
            Stats.BytesOut += length;
            return EnvelopeEvent.Reply;
        }

        if (existing is not null)
        {
            Remove(peer); // the same address and port started over
        }

        if (!MakeRoom(source))
        {
            Stats.RefusedBusy++;
            length = Envelope.WriteRefused(output, channel, Envelope.RefusedBusy, "the server has too many sessions; try again later");
            Stats.BytesOut += length;
            return EnvelopeEvent.Reply;
        }

        Span<byte> random = stackalloc byte[HandshakeMessages.RandomSize];
        _fillRandom(random);
        using var ephemeral = _newEphemeral();
        var hello = datagram.Slice(Envelope.HeaderSize, HandshakeMessages.ClientHelloSize);
        var result = ServerHandshake.Respond(Envelope.Context(_protocol, channel), hello, _identity, ephemeral, random, _epochBits, out var serverHello, out var keys);
        if (result != HandshakeFailure.None)
        {
            length = Envelope.WriteRefused(output, channel, Envelope.RefusedHandshake, $"handshake failed: {result}");
            Stats.BytesOut += length;
            return EnvelopeEvent.Reply;
        }

        var reply = new byte[Envelope.HeaderSize + serverHello.Length];
        Envelope.WriteHeader(reply, Envelope.TypeServerHello, channel);
        serverHello.CopyTo(reply, Envelope.HeaderSize);
        _sessions[peer] = new Session(channel, source, keys!, reply, now);
        _perSource[source] = _perSource.GetValueOrDefault(source) + 1;
        HalfOpen++;
        return Reply(reply, output, out length);
    }

    private EnvelopeEvent Reply(byte[] datagram, Span<byte> output, out int length)
    {
        datagram.CopyTo(output);
        length = datagram.Length;
        Stats.BytesOut += length;
        return EnvelopeEvent.Reply;
    }

    /// <summary>Applies the per-source half-open bound and the global bounds; evicts the oldest half-open session when that makes room.</summary>
    private bool MakeRoom(UInt128 source)
    {
        if (_perSource.GetValueOrDefault(source) >= Limits.MaxHalfOpenPerSource)
        {
            return EvictOldestHalfOpen(source);
        }

        if (HalfOpen >= Limits.MaxHalfOpen || _sessions.Count >= Limits.MaxSessions)
        {
            return EvictOldestHalfOpen(null);
        }

        return true;
    }

    private bool EvictOldestHalfOpen(UInt128? fromSource)
    {
        TPeer? oldest = default;
        long oldestTime = long.MaxValue;
        bool found = false;
        foreach (var (peer, s) in _sessions)
        {
            if (!s.Authenticated && s.LastActivity < oldestTime && (fromSource is null || s.Source == fromSource))
            {
                oldest = peer;
                oldestTime = s.LastActivity;
                found = true;
            }
        }

        if (!found)
        {
            return false;
        }

        Remove(oldest!);
        Stats.HalfOpenEvicted++;
        return true;
    }

    private bool TakeToken(UInt128 source, long now)
    {
        if (!_buckets.TryGetValue(source, out var b))
        {
            if (_buckets.Count >= Limits.MaxTrackedSources)
            {
                _buckets.Clear();
            }

            b = (Limits.HelloBurst, now);
        }

        double tokens = Math.Min(Limits.HelloBurst, b.Tokens + (now - b.Last) / 1e6 * Limits.HellosPerSecondPerSource);
        if (tokens < 1)
        {
            _buckets[source] = (tokens, now);
            return false;
        }

        _buckets[source] = (tokens - 1, now);
        return true;
    }

    private sealed class Session
    {
        public Session(ulong channel, UInt128 source, SessionKeys keys, byte[] serverHello, long now)
        {
            Channel = channel;
            Source = source;
            Keys = keys;
            ServerHello = serverHello;
            LastActivity = now;
        }

        public ulong Channel { get; }

        public UInt128 Source { get; }

        public SessionKeys Keys { get; }

        public byte[] ServerHello { get; }

        public ReplayWindow Replay { get; } = new();

        public ulong SendCounter;

        public bool Authenticated { get; set; }

        public long LastActivity { get; set; }
    }
}
