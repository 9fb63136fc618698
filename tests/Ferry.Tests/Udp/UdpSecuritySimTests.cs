using Ferry.Protocol.Security;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Support;
using Ferry.Tests.Udp.Sim;
using Xunit;

namespace Ferry.Tests.Udp;

/// <summary>The udp:// secure channel over the simulated network: what is hidden, what is refused, what survives.</summary>
public sealed class UdpSecuritySimTests
{
    private static readonly LinkConfig s_lossy = new() { Delay = 10_000, Loss = 0.05, Jitter = 2_000, Duplicate = 0.02 };

    private static byte[] Marked(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        // A recognisable marker every 1000 bytes: if any datagram carries file bytes in clear, it shows.
        for (int i = 0; i + 16 <= size; i += 1000)
        {
            "FERRY-PLAINTEXT!"u8.CopyTo(data.AsSpan(i));
        }

        return data;
    }

    private static bool AnyContains(IEnumerable<byte[]> datagrams, ReadOnlySpan<byte> needle)
    {
        foreach (var d in datagrams)
        {
            if (d.AsSpan().IndexOf(needle) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    [Fact]
    public void Encrypted_by_default_file_bytes_path_and_token_never_travel_in_clear()
    {
        var data = Marked(300_000, 1);
        var sim = new SimTransfer(31, s_lossy, s_lossy) { Capture = new List<byte[]>(), AccessToken = "ferry_SECRET-TOKEN-VALUE" };
        sim.ServerFiles["secret/dir/file.bin"] = data;
        var r = sim.RunGet("secret/dir/file.bin");
        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.Contains(sim.ServerEvents, e => e.Kind == ConnectionEventKind.RequestReceived && e.Token == "ferry_SECRET-TOKEN-VALUE");
        Assert.True(sim.Capture!.Count > 200);
        Assert.False(AnyContains(sim.Capture, "FERRY-PLAINTEXT!"u8));
        Assert.False(AnyContains(sim.Capture, "secret/dir"u8));
        Assert.False(AnyContains(sim.Capture, "SECRET-TOKEN"u8));

        // Everything after the two hellos is protected.
        int cleartext = sim.Capture.Count(d => (d[3] & Packet.FlagProtected) == 0);
        Assert.True(cleartext <= 8, $"{cleartext} cleartext datagrams");
    }

    [Fact]
    public void Insecure_client_of_a_server_that_allows_it_sends_in_clear()
    {
        var data = Marked(100_000, 2);
        var client = new ConnectionConfig { Security = new UdpSecurity { Insecure = true } };
        var server = new ConnectionConfig { Security = new UdpSecurity { Identity = TestSecurity.ServerKey, AllowInsecure = true } };
        var sim = new SimTransfer(32, s_lossy, s_lossy, client, server) { Capture = new List<byte[]>() };
        var r = sim.RunPut("up.bin", data);
        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, sim.Uploads["up.bin"].Data);
        Assert.True(AnyContains(sim.Capture!, "FERRY-PLAINTEXT!"u8));
        Assert.DoesNotContain(sim.Capture!, d => (d[3] & Packet.FlagProtected) != 0);
    }

    [Fact]
    public void Insecure_client_of_a_server_that_requires_encryption_is_refused_clearly()
    {
        var client = new ConnectionConfig { Security = new UdpSecurity { Insecure = true } };
        var sim = new SimTransfer(33, s_lossy, s_lossy, client);
        sim.ServerFiles["f"] = new byte[10];
        var r = sim.RunGet("f");
        Assert.False(r.Completed);
        Assert.Equal(TransferError.EncryptionRequired, r.ClientCode);
        Assert.Contains("drop --insecure", r.ClientMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(sim.ServerEvents, e => e.Kind == ConnectionEventKind.RequestReceived);
    }

    [Fact]
    public void Encrypting_client_of_a_keyless_server_is_told_to_use_insecure()
    {
        SimTransfer.SimServerKeyless = true;
        try
        {
            var sim = new SimTransfer(34, s_lossy, s_lossy);
            sim.ServerFiles["f"] = new byte[10];
            var r = sim.RunGet("f");
            Assert.Equal(TransferError.EncryptionUnavailable, r.ClientCode);
            Assert.Contains("--insecure", r.ClientMessage, StringComparison.Ordinal);
        }
        finally
        {
            SimTransfer.SimServerKeyless = false;
        }
    }

    [Fact]
    public void A_rejected_server_key_stops_the_client_before_the_request_is_sent()
    {
        var sim = new SimTransfer(35, s_lossy, s_lossy) { RejectServerKey = _ => true, Capture = new List<byte[]>() };
        sim.ServerFiles["secret.bin"] = new byte[1000];
        var r = sim.RunGet("secret.bin");
        Assert.False(r.Completed);
        Assert.Equal(TransferError.HandshakeFailed, r.ClientCode);
        Assert.DoesNotContain(sim.ServerEvents, e => e.Kind == ConnectionEventKind.RequestReceived);
        Assert.False(AnyContains(sim.Capture!, "secret.bin"u8));
    }

    [Fact]
    public void A_man_in_the_middle_who_alters_the_server_hello_is_detected()
    {
        var sim = new SimTransfer(36, s_lossy, s_lossy);
        sim.ServerFiles["f"] = new byte[1000];
        int tampered = 0;
        sim.DownFilter = d =>
        {
            if ((d[3] & Packet.FlagProtected) != 0 || d.Length < 200)
            {
                return d;
            }

            // A cleartext server packet this long is the SERVER_HELLO: change the last signature byte and fix the CRC.
            var copy = (byte[])d.Clone();
            copy[^5] ^= 0x01;
            Packet.Seal(copy, copy.Length - Packet.TrailerSize);
            tampered++;
            return copy;
        };
        var r = sim.RunGet("f");
        Assert.True(tampered > 0);
        Assert.False(r.Completed);
        Assert.Equal(TransferError.HandshakeFailed, r.ClientCode);
        Assert.Contains("did not verify", r.ClientMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(sim.ServerEvents, e => e.Kind == ConnectionEventKind.RequestReceived);
    }

    [Fact]
    public void Tampered_protected_packets_are_dropped_and_the_transfer_still_completes_intact()
    {
        var data = Marked(400_000, 3);
        var sim = new SimTransfer(37, s_lossy, s_lossy);
        sim.ServerFiles["f"] = data;
        var rng = new Random(5);
        int flipped = 0;
        sim.DownFilter = d =>
        {
            if ((d[3] & Packet.FlagProtected) != 0 && rng.NextDouble() < 0.1)
            {
                var copy = (byte[])d.Clone();
                copy[Packet.HeaderSize + rng.Next(copy.Length - Packet.HeaderSize)] ^= (byte)(1 << rng.Next(8));
                // Counted only while the client reads them: once it closed (at once, with its RESULT) it reads nothing.
                flipped += sim.Client!.State is ConnectionState.Handshake or ConnectionState.Established ? 1 : 0;
                return copy;
            }

            return d;
        };
        var r = sim.RunGet("f");
        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.Equal(0, sim.ClientSink.Rewrites);
        Assert.True(flipped > 10);
        // Every flipped packet that reached the open connection failed authentication.
        Assert.True(r.ClientStats.UndecryptablePackets >= flipped, $"{r.ClientStats.UndecryptablePackets} undecryptable of {flipped} flipped");
    }

    [Fact]
    public void Replayed_packets_are_ignored()
    {
        var data = Marked(600_000, 4);
        var sim = new SimTransfer(38, new LinkConfig { Delay = 5_000 }, new LinkConfig { Delay = 5_000 }) { Capture = new List<byte[]>() };
        int replayed = 0;
        sim.OnStep = s =>
        {
            // Re-send every protected client packet seen so far, once, a while after it was first sent.
            if (s.Capture!.Count > 300 && replayed == 0)
            {
                foreach (var d in s.Capture.Where(d => (d[3] & Packet.FlagProtected) != 0 && d[2] == (byte)PacketType.Data).ToList())
                {
                    s.InjectAtServer(d, new PeerAddress(0x7F00_0001, 40000));
                    replayed++;
                }
            }
        };
        var r = sim.RunPut("up.bin", data);
        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, sim.Uploads["up.bin"].Data);
        Assert.Equal(0, sim.Uploads["up.bin"].Rewrites);
        Assert.True(replayed > 0);
        // Packets still on the wire when replayed arrive first as the replay, then as the duplicate original.
        Assert.True(r.ServerStats!.DuplicatePackets >= replayed * 9 / 10, $"{r.ServerStats.DuplicatePackets} duplicates of {replayed} replayed");
    }

    [Fact]
    public void Keys_are_updated_every_epoch_during_a_transfer()
    {
        var data = Marked(1_000_000, 5);
        var client = new ConnectionConfig { Security = new UdpSecurity { EpochBits = 6 } };
        var server = new ConnectionConfig { Security = new UdpSecurity { Identity = TestSecurity.ServerKey, EpochBits = 6 } };
        var sim = new SimTransfer(39, s_lossy, s_lossy, client, server);
        sim.ServerFiles["f"] = data;
        var r = sim.RunGet("f");
        Assert.True(r.Completed, r.ClientMessage);
        Assert.Equal(data, sim.ClientSink!.Data);
        Assert.True(r.ServerStats!.PacketsSent > 64 * 10, "the transfer spans at least ten key epochs");
    }

    [Fact]
    public void The_token_reaches_the_server_and_a_refusal_reaches_the_client()
    {
        var sim = new SimTransfer(40, s_lossy, s_lossy) { AccessToken = "ferry_abc" };
        sim.ServerPolicy = ev => ev.Token == "ferry_abc" ? (TransferError.Denied, "the access token 'abc' may not write") : null;
        var r = sim.RunPut("f", new byte[5000]);
        Assert.False(r.Completed);
        Assert.Equal(TransferError.Denied, r.ClientCode);
        Assert.Contains("may not write", r.ClientMessage, StringComparison.Ordinal);
    }
}
