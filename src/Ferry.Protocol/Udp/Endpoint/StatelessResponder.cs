using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp.Endpoint;

/// <summary>
/// What the server answers without keeping any state for the client: a Retry (address validation), a stateless
/// SERVER_HELLO in a Handshake packet (within a budget per second), and a cleartext CLOSE refusing a connection that
/// was never created. Answers wait in a bounded queue until the shell polls them; beyond it they are dropped.
/// </summary>
internal sealed class StatelessResponder
{
    private const int MaxQueue = 256;

    private readonly ConnectionConfig _config;
    private readonly EndpointStats _stats;
    private readonly RetryTokens _retryTokens;
    private readonly Queue<(PeerAddress To, byte[] Datagram)> _queue = new();
    private readonly AckRange[] _ackScratch = new AckRange[FrameCodec.MaxAckRanges + 1];
    private double _helloBudget;
    private long _helloBudgetStamp = long.MinValue;

    public StatelessResponder(ConnectionConfig config, byte[] retryKey, int statelessHellosPerSecond, EndpointStats stats)
    {
        _config = config;
        _stats = stats;
        _retryTokens = new RetryTokens(retryKey);
        HandshakeTokens = new HandshakeTokens(config.Security.FillRandom);
        StatelessHellosPerSecond = statelessHellosPerSecond;
    }

    /// <summary>Tokens of stateless SERVER_HELLOs, which the client's next packet brings back.</summary>
    public HandshakeTokens HandshakeTokens { get; }

    public int StatelessHellosPerSecond { get; }

    public bool HasPending => _queue.Count > 0;

    /// <summary>True when <paramref name="token"/> is a Retry token this server issued to this client address and id.</summary>
    public bool IsValidRetryToken(ReadOnlySpan<byte> token, in PeerAddress peer, ulong clientId, long now) => _retryTokens.Validate(token, peer, clientId, now);

    /// <summary>Answers with a Retry carrying a token for this address and client id.</summary>
    public void SendRetry(long now, in PeerAddress peer, ulong clientId)
    {
        var token = _retryTokens.Issue(peer, clientId, now);
        var retry = new byte[Packet.HeaderSize + 2 + token.Length + Packet.TrailerSize];
        Packet.WriteRetry(retry, clientId, token);
        Enqueue(peer, retry);
        _stats.RetriesSent++;
    }

    /// <summary>
    /// A cleartext CLOSE refusing a connection that was never created: packet number 0, the first (and only) packet the
    /// server sends on it (a Retry or Handshake packet before it is outside the numbering).
    /// </summary>
    public void SendClose(in PeerAddress peer, ulong clientId, TransferError code, string message)
    {
        var buffer = new byte[256];
        int pos = Packet.WriteHeader(buffer, PacketType.Data, clientId, 0);
        var w = new SpanWriter(buffer.AsSpan(pos, buffer.Length - pos - Packet.TrailerSize));
        FrameCodec.TryWriteCodeMessage(ref w, FrameType.Close, (long)code, message);
        int length = Packet.Seal(buffer, pos + w.Position);
        Enqueue(peer, buffer[..length]);
    }

    /// <summary>
    /// Answers a first HELLO with a SERVER_HELLO at once, keeping nothing: the session's secrets leave in the token of
    /// a Handshake packet, which the client's next packet brings back (docs/PROTOCOL.md, "Stateless SERVER_HELLO").
    /// False when this path does not apply (no key, cleartext asked, a malformed hello, the budget spent): the caller
    /// then sends a Retry, and the connection's own handshake handles the rest.
    /// </summary>
    public bool TrySendHello(long now, in PacketView packet, in PeerAddress peer)
    {
        var security = _config.Security;
        if (security.Identity is null || StatelessHellosPerSecond == 0)
        {
            return false;
        }

        byte[]? hello = null;
        var r = new SpanReader(packet.Payload);
        while (!r.End)
        {
            if (!FrameCodec.TryRead(ref r, _ackScratch, out var f))
            {
                return false;
            }

            if (f.Type == FrameType.Hello)
            {
                hello = f.Data.ToArray();
            }
        }

        if (hello is null || !Security.ServerHandshake.TryReadSuite(hello, out byte suite) || suite != Security.HandshakeMessages.SuiteP256Aes256Gcm)
        {
            return false;
        }

        if (!TakeHelloBudget(now))
        {
            _stats.StatelessHellosOverBudget++;
            return false;
        }

        Span<byte> random = stackalloc byte[Security.HandshakeMessages.RandomSize];
        security.FillRandom(random);
        using var ephemeral = security.NewEphemeral();
        if (Security.ServerHandshake.Respond(UdpSecurity.Context(packet.SourceId), hello, security.Identity, ephemeral, random,
                out var serverHello, out var c2s, out var s2c) != Security.HandshakeFailure.None)
        {
            return false;
        }

        var token = HandshakeTokens.Issue(peer, packet.SourceId, now, c2s, s2c);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(c2s);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(s2c);
        var frames = new byte[serverHello.Length + 8];
        var w = new SpanWriter(frames);
        FrameCodec.TryWriteHello(ref w, FrameType.ServerHello, serverHello);
        var datagram = new byte[Packet.HeaderSize + 2 + token.Length + w.Position + Packet.TrailerSize];
        Packet.WriteHandshake(datagram, packet.SourceId, token, frames.AsSpan(0, w.Position));
        Enqueue(peer, datagram);
        _stats.StatelessHellos++;
        return true;
    }

    /// <summary>Queues a datagram for <paramref name="to"/> (dropped, and counted, when the queue is full).</summary>
    public void Enqueue(in PeerAddress to, byte[] datagram)
    {
        if (_queue.Count >= MaxQueue)
        {
            _stats.StatelessDropped++;
            return;
        }

        _queue.Enqueue((to, datagram));
    }

    public bool TryDequeue(out PeerAddress to, out byte[] datagram)
    {
        if (_queue.TryDequeue(out var s))
        {
            (to, datagram) = s;
            return true;
        }

        to = default;
        datagram = null!;
        return false;
    }

    /// <summary>Token bucket of <see cref="StatelessHellosPerSecond"/> (burst: a fifth of a second's worth, at least 16).</summary>
    private bool TakeHelloBudget(long now)
    {
        double burst = Math.Max(16, StatelessHellosPerSecond / 5.0);
        if (_helloBudgetStamp == long.MinValue)
        {
            _helloBudget = burst;
        }
        else if (now > _helloBudgetStamp)
        {
            _helloBudget = Math.Min(burst, _helloBudget + (now - _helloBudgetStamp) * StatelessHellosPerSecond / 1e6);
        }

        _helloBudgetStamp = Math.Max(now, _helloBudgetStamp);
        if (_helloBudget < 1)
        {
            return false;
        }

        _helloBudget--;
        return true;
    }
}
