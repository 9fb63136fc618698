using System.Security.Cryptography;
using Ferry.Protocol.Security;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// The relay's secure envelope: an <see cref="EnvelopeServer{TPeer}"/> and an established <see cref="EnvelopeClient"/>
/// fed mutated HELLO, SERVER_HELLO, SEALED and REFUSED datagrams. The first input byte picks the side and the peer;
/// the rest is the datagram. The server must never hold more sessions than its limits allow.
/// </summary>
internal sealed class SecurityEnvelopeTarget : IFuzzInstance
{
    private static readonly ServerKeyPair s_identity = ServerKeyPair.Generate();
    private static readonly EnvelopeLimits s_limits = new() { MaxSessions = 64, MaxHalfOpen = 16, MaxHalfOpenPerSource = 4, HelloBurst = 100_000 };
    private readonly EnvelopeServer<int> _server = new("relay", s_identity, s_limits);
    private readonly EnvelopeClient _client;
    private readonly byte[] _output = new byte[4096];
    private long _now = 1_000_000;

    public SecurityEnvelopeTarget()
    {
        var random = new byte[HandshakeMessages.RandomSize];
        new Random(9).NextBytes(random);
        _client = new EnvelopeClient("relay", 0x5EED, ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256), random);
        var hello = new byte[Envelope.HelloSize];
        _client.WriteHello(hello);
        if (_server.Handle(hello, 1, 1, _now, _output, out int n) != EnvelopeEvent.Reply)
        {
            throw new InvalidOperationException("no server hello");
        }

        var serverHello = _output[..n];
        if (_client.Handle(serverHello, new byte[4096], out _, out _, out _) != EnvelopeEvent.Established)
        {
            throw new InvalidOperationException("handshake failed");
        }

        var toServer = new byte[100 + Envelope.Overhead];
        _client.Seal(new byte[100], toServer);
        var toClient = new byte[60 + Envelope.Overhead];
        _server.Seal(1, new byte[60], toClient);
        // (Server hellos and refusals for the client are the security.hello target's and Envelope.TryReadRefused's: an
        // established client drops them, so they are not seeds that are "accepted" here.)
        Seeds = [[0, .. hello], [0, .. toServer], [1, .. toClient]];
    }

    public static FuzzTarget Target { get; } = new("security.envelope", () => new SecurityEnvelopeTarget(), 512 << 10, 2048, ResetEvery: 2000, ShortRunShare: 0.2);

    public IReadOnlyList<byte[]> Seeds { get; }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
    }

    public bool Run(byte[] input, Random rng)
    {
        if (input.Length == 0)
        {
            return false;
        }

        _now += 1000;
        var datagram = input.AsSpan(1);
        if (input[0] % 2 == 0)
        {
            int peer = 1 + (input[0] >> 1) % 8;
            var ev = _server.Handle(datagram, peer, (UInt128)(peer % 3), _now, _output, out int n);
            if (_server.Count > s_limits.MaxSessions || _server.HalfOpen > s_limits.MaxHalfOpen || n > _output.Length)
            {
                throw new FuzzPropertyException($"envelope bounds exceeded: {_server.Count} sessions, {_server.HalfOpen} half-open");
            }

            if (ev == EnvelopeEvent.Reply && n > datagram.Length)
            {
                throw new FuzzPropertyException($"a {datagram.Length}-byte datagram drew a {n}-byte reply");
            }

            return ev is EnvelopeEvent.Opened or EnvelopeEvent.Reply;
        }

        return _client.Handle(datagram, _output, out _, out _, out _) != EnvelopeEvent.Dropped;
    }
}
