using System.Security.Cryptography;
using Ferry.Protocol.Security;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// The secure channel's parsers (fuzzed only; the layer itself is the lead's): the server reading a client hello
/// (ServerHandshake.TryReadSuite and Respond), the client reading a server hello (ClientHandshake.TryComplete: key
/// length, DER key import, signature), and PacketProtector.TryOpen on mutated packet number, tag and ciphertext.
/// The first input byte picks which; the rest is the message. Keys are fixed per instance (seeded random bytes).
/// </summary>
internal sealed class SecurityHandshakeTarget : IFuzzInstance
{
    private static readonly byte[] s_context = "udp fuzz"u8.ToArray();
    private static readonly ServerKeyPair s_identity = ServerKeyPair.Generate();
    private readonly ClientHandshake _client;
    private readonly PacketProtector _receive;
    private readonly byte[] _payload = new byte[256];
    private readonly byte[] _tag = new byte[PacketProtector.TagSize];

    public SecurityHandshakeTarget()
    {
        var rng = new Random(8);
        var random = new byte[HandshakeMessages.RandomSize];
        rng.NextBytes(random);
        _client = new ClientHandshake(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256), random, s_context);
        using var serverEphemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        if (ServerHandshake.Respond(s_context, _client.Hello, s_identity, serverEphemeral, random, PacketProtector.DefaultEpochBits, out var serverHello, out var keys) != HandshakeFailure.None)
        {
            throw new InvalidOperationException("handshake failed");
        }

        var secret = new byte[32];
        rng.NextBytes(secret);
        _receive = new PacketProtector(secret, epochBits: 4);
        using var send = new PacketProtector(secret, epochBits: 4);
        var insecure = new byte[HandshakeMessages.InsecureHelloSize];
        ClientHandshake.WriteInsecureHello(insecure);
        var sealedPackets = new List<byte[]>();
        foreach (ulong pn in new ulong[] { 0, 1, 17, 40 })
        {
            var payload = new byte[40];
            rng.NextBytes(payload);
            var tag = new byte[PacketProtector.TagSize];
            send.Seal(pn, s_context, payload, tag);
            sealedPackets.Add([2, .. BitConverter.GetBytes(pn), .. tag, .. payload]);
        }

        Seeds = [[0, .. _client.Hello], [0, .. insecure], [1, .. serverHello], .. sealedPackets];
        keys!.Dispose();
    }

    public static FuzzTarget Target { get; } = new("security.hello", () => new SecurityHandshakeTarget(), 256 << 10, 1024, ResetEvery: 5000, ShortRunShare: 0.2);

    public IReadOnlyList<byte[]> Seeds { get; }

    public void Dispose()
    {
        _client.Dispose();
        _receive.Dispose();
    }

    public bool Run(byte[] input, Random rng)
    {
        if (input.Length == 0)
        {
            return false;
        }

        var message = input.AsSpan(1);
        switch (input[0] % 3)
        {
            case 0:
                if (!ServerHandshake.TryReadSuite(message, out _))
                {
                    return false;
                }

                using (var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256))
                {
                    var failure = ServerHandshake.Respond(s_context, message, s_identity, ephemeral, new byte[32], PacketProtector.DefaultEpochBits, out _, out var keys);
                    keys?.Dispose();
                    return failure is HandshakeFailure.None or HandshakeFailure.SuiteRefused;
                }

            case 1:
            {
                var failure = _client.TryComplete(message, PacketProtector.DefaultEpochBits, out var keys, out _);
                keys?.Dispose();
                return failure == HandshakeFailure.None;
            }

            default:
                if (message.Length < 8 + PacketProtector.TagSize)
                {
                    return false;
                }

                ulong pn = BitConverter.ToUInt64(message);
                var tag = message.Slice(8, PacketProtector.TagSize);
                var ciphertext = message[(8 + PacketProtector.TagSize)..];
                int n = Math.Min(ciphertext.Length, _payload.Length);
                ciphertext[..n].CopyTo(_payload);
                tag.CopyTo(_tag);
                return _receive.TryOpen(pn, s_context, _payload.AsSpan(0, n), _tag);
        }
    }
}
