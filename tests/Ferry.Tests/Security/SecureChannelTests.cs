using System.Security.Cryptography;
using Ferry.Protocol.Security;
using Xunit;

namespace Ferry.Tests.Security;

public sealed class SecureChannelTests
{
    private static readonly byte[] s_context = "udp test 42"u8.ToArray();

    private static (SessionKeys Client, SessionKeys Server, byte[] ServerKey, HandshakeFailure Result) Handshake(
        ServerKeyPair identity, Func<byte[], byte[]>? tamper = null, byte[]? serverContext = null, int epochBits = PacketProtector.DefaultEpochBits)
    {
        using var client = new ClientHandshake(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256), RandomNumberGenerator.GetBytes(32), s_context);
        using var eph = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var r = ServerHandshake.Respond(serverContext ?? s_context, client.Hello, identity, eph, RandomNumberGenerator.GetBytes(32), epochBits, out var hello, out var serverKeys);
        Assert.Equal(HandshakeFailure.None, r);
        if (tamper is not null)
        {
            hello = tamper(hello);
        }

        var result = client.TryComplete(hello, epochBits, out var clientKeys, out var spki);
        return (clientKeys!, serverKeys!, spki, result);
    }

    [Fact]
    public void Handshake_derives_matching_keys_and_presents_the_server_key()
    {
        using var identity = ServerKeyPair.Generate();
        var (c, s, spki, result) = Handshake(identity);
        Assert.Equal(HandshakeFailure.None, result);
        Assert.Equal(identity.Fingerprint, KeyFingerprint.Of(spki));

        var header = new byte[] { 1, 2, 3 };
        var payload = "hello server"u8.ToArray();
        var tag = new byte[16];
        c.Send.Seal(7, header, payload, tag);
        Assert.NotEqual("hello server"u8.ToArray(), payload);
        Assert.True(s.Receive.TryOpen(7, header, payload, tag));
        Assert.Equal("hello server"u8.ToArray(), payload);

        // The other direction uses another key: the client's own sealed packet does not open as server traffic.
        var back = "hello client"u8.ToArray();
        s.Send.Seal(7, header, back, tag);
        var copy = (byte[])back.Clone();
        Assert.False(s.Receive.TryOpen(7, header, copy, tag));
        Assert.True(c.Receive.TryOpen(7, header, back, tag));
        Assert.Equal("hello client"u8.ToArray(), back);
    }

    [Fact]
    public void Every_byte_of_the_server_hello_is_authenticated()
    {
        using var identity = ServerKeyPair.Generate();
        var probe = Handshake(identity);
        int length = 0;
        Handshake(identity, h => { length = h.Length; return h; });
        Assert.Equal(HandshakeFailure.None, probe.Result);
        for (int i = 2; i < length; i += 7)
        {
            int at = i;
            var (_, _, _, result) = Handshake(identity, h => { h[at] ^= 0x01; return h; });
            Assert.NotEqual(HandshakeFailure.None, result);
        }
    }

    [Fact]
    public void A_different_context_or_a_substituted_key_fails()
    {
        using var identity = ServerKeyPair.Generate();
        Assert.Equal(HandshakeFailure.BadSignature, Handshake(identity, serverContext: "udp test 43"u8.ToArray()).Result);
        Assert.Equal(HandshakeFailure.Malformed, Handshake(identity, h => h[..^1]).Result);
        Assert.Equal(HandshakeFailure.Malformed, Handshake(identity, h => [.. h, 0]).Result);

        // A man in the middle re-signs with his own key: the handshake completes, but presents his key, which pinning rejects.
        using var mallory = ServerKeyPair.Generate();
        var (_, _, spki, result) = Handshake(mallory);
        Assert.Equal(HandshakeFailure.None, result);
        Assert.NotEqual(identity.Fingerprint, KeyFingerprint.Of(spki));
    }

    [Fact]
    public void Server_refuses_malformed_and_invalid_client_hellos()
    {
        using var identity = ServerKeyPair.Generate();
        using var eph = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var rnd = new byte[32];
        var hello = new byte[HandshakeMessages.ClientHelloSize];
        hello[0] = 1;
        hello[1] = 1;
        hello[2] = 4; // a point of zeros is not on the curve
        Assert.Equal(HandshakeFailure.BadKey, ServerHandshake.Respond(s_context, hello, identity, eph, rnd, 22, out _, out _));
        Assert.Equal(HandshakeFailure.Malformed, ServerHandshake.Respond(s_context, hello[..50], identity, eph, rnd, 22, out _, out _));
        Assert.Equal(HandshakeFailure.SuiteRefused, ServerHandshake.Respond(s_context, [1, 0], identity, eph, rnd, 22, out _, out _));
        Assert.Equal(HandshakeFailure.Malformed, ServerHandshake.Respond(s_context, [2, 1], identity, eph, rnd, 22, out _, out _));
    }

    [Fact]
    public void Tampered_or_misnumbered_packets_do_not_open()
    {
        using var identity = ServerKeyPair.Generate();
        var (c, s, _, _) = Handshake(identity);
        var header = new byte[] { 9, 9 };
        var payload = new byte[100];
        var tag = new byte[16];
        c.Send.Seal(5, header, payload, tag);

        var p = (byte[])payload.Clone();
        p[50] ^= 1;
        Assert.False(s.Receive.TryOpen(5, header, p, tag));
        // A failed open may overwrite the buffer (the ciphertext is decrypted in place): use a fresh copy each time.
        Assert.False(s.Receive.TryOpen(6, header, (byte[])payload.Clone(), tag));
        Assert.False(s.Receive.TryOpen(5, [9, 8], (byte[])payload.Clone(), tag));
        var t = (byte[])tag.Clone();
        t[0] ^= 0x80;
        Assert.False(s.Receive.TryOpen(5, header, (byte[])payload.Clone(), t));
        Assert.Equal(4, s.Receive.FailedOpens);
        Assert.True(s.Receive.TryOpen(5, header, payload, tag));
        Assert.Equal(new byte[100], payload);
    }

    [Fact]
    public void Keys_change_every_epoch_and_late_packets_of_the_previous_epoch_still_open()
    {
        using var identity = ServerKeyPair.Generate();
        var (c, s, _, _) = Handshake(identity, epochBits: 4); // 16 packets per epoch
        var header = new byte[] { 1 };
        var sealedPackets = new List<(ulong Pn, byte[] Payload, byte[] Tag)>();
        for (ulong pn = 0; pn < 100; pn++)
        {
            var payload = BitConverter.GetBytes(pn * 31);
            var tag = new byte[16];
            c.Send.Seal(pn, header, payload, tag);
            sealedPackets.Add((pn, payload, tag));
        }

        Assert.Equal(6UL, c.Send.Epoch);

        // Deliver with some reordering across epoch boundaries: swap neighbours.
        for (int i = 0; i + 1 < sealedPackets.Count; i += 2)
        {
            (sealedPackets[i], sealedPackets[i + 1]) = (sealedPackets[i + 1], sealedPackets[i]);
        }

        foreach (var (pn, payload, tag) in sealedPackets)
        {
            Assert.True(s.Receive.TryOpen(pn, header, payload, tag), $"packet {pn}");
            Assert.Equal(pn * 31, BitConverter.ToUInt64(payload));
        }

        // The same key never protects two epochs: a packet sealed in epoch 0 does not open as epoch 1's number.
        Assert.Equal(6UL, s.Receive.Epoch);
    }

    [Fact]
    public void A_forged_far_future_packet_number_does_not_move_the_receiver()
    {
        using var identity = ServerKeyPair.Generate();
        var (c, s, _, _) = Handshake(identity, epochBits: 4);
        var header = new byte[] { 1 };
        var junk = new byte[40];
        Assert.False(s.Receive.TryOpen(1UL << 40, header, junk, new byte[16]));
        Assert.False(s.Receive.TryOpen(17, header, junk, new byte[16]));   // epoch 1, forged
        Assert.Equal(0UL, s.Receive.Epoch);

        var payload = new byte[] { 42 };
        var tag = new byte[16];
        c.Send.Seal(3, header, payload, tag);
        Assert.True(s.Receive.TryOpen(3, header, payload, tag));
        Assert.Equal(42, payload[0]);
    }

    [Fact]
    public void Fingerprints_are_ssh_style_and_compare_with_or_without_prefix()
    {
        using var identity = ServerKeyPair.Generate();
        Assert.True(KeyFingerprint.IsWellFormed(identity.Fingerprint));
        Assert.StartsWith("SHA256:", identity.Fingerprint, StringComparison.Ordinal);
        Assert.True(KeyFingerprint.Matches(identity.Fingerprint, identity.Fingerprint));
        Assert.True(KeyFingerprint.Matches(identity.Fingerprint["SHA256:".Length..], identity.Fingerprint));
        using var other = ServerKeyPair.Generate();
        Assert.False(KeyFingerprint.Matches(other.Fingerprint, identity.Fingerprint));
        Assert.False(KeyFingerprint.IsWellFormed("SHA256:abc"));
    }
}
