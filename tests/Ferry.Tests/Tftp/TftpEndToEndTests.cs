using System.Net;
using System.Text;
using Ferry.Protocol.Tftp;
using Ferry.Tests.Support;
using Ferry.Tftp;
using Ferry.Transfers;

namespace Ferry.Tests.Tftp;

/// <summary>Ferry's TFTP client and server over real sockets on 127.0.0.1, plus hostile input at the server.</summary>
public sealed class TftpEndToEndTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_reply = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(0, null, null)]
    [InlineData(1, null, null)]
    [InlineData(512, null, null)]
    [InlineData(3 << 20, 1428, 16)]
    [InlineData(1_000_003, 8192, 4)]
    public async Task Ferry_client_and_server_round_trip(int size, int? blockSize, int? windowSize)
    {
        await using var server = new TftpServerFixture(allowWrite: true);
        var data = server.CreateFile("src.bin", size, seed: size);
        var client = new TftpClient();
        var options = new ClientOptions { BlockSize = blockSize, WindowSize = windowSize };

        string downloaded = server.Local("down.bin");
        var got = await client.GetAsync(server.Url("src.bin"), downloaded, options, new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit);
        Assert.Equal(data, await File.ReadAllBytesAsync(downloaded));
        Assert.Equal(TftpServerFixture.Sha256Hex(data), got.Sha256Hex);

        var sent = await client.SendAsync(downloaded, server.Url("copies/up.bin"), options, new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit);
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Root, "copies/up.bin")));
        Assert.Equal(got.Sha256Hex, sent.Sha256Hex);
        Assert.Contains($"sha256 {got.Sha256Hex}", server.LogText);
    }

    [Fact]
    public async Task Client_errors_map_to_exit_codes()
    {
        await using var server = new TftpServerFixture(allowWrite: true);
        server.CreateFile("exists.bin", 100);
        var client = new TftpClient();
        var options = new ClientOptions { Timeout = TimeSpan.FromSeconds(1) };

        var e = await Assert.ThrowsAsync<TransferException>(() => client.GetAsync(server.Url("missing.bin"), server.Local("m.bin"), options, new RecordingProgress(), CancellationToken.None));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Equal("server: 'missing.bin' not found (NotFound)", e.Message);
        Assert.False(File.Exists(server.Local("m.bin")));

        string local = server.Local("l.bin");
        await File.WriteAllBytesAsync(local, new byte[10]);
        e = await Assert.ThrowsAsync<TransferException>(() => client.SendAsync(local, server.Url("exists.bin"), options, new RecordingProgress(), CancellationToken.None));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Equal("server: 'exists.bin' already exists on the server (it runs without --allow-overwrite) (AlreadyExists)", e.Message);

        e = await Assert.ThrowsAsync<TransferException>(() => client.GetAsync(server.Url("x"), server.Local("y"), new ClientOptions { BlockSize = 7 }, new RecordingProgress(), CancellationToken.None));
        Assert.Equal(ExitCode.Usage, e.Code);
    }

    [Fact]
    public async Task Client_times_out_when_nobody_answers()
    {
        using var silent = new RawTftpPeer();
        var client = new TftpClient();
        var options = new ClientOptions { Timeout = TimeSpan.FromMilliseconds(100) };
        var url = new Uri($"tftp://127.0.0.1:{silent.LocalEndPoint.Port}/f");
        using var dir = new Files.TempDir();
        var e = await Assert.ThrowsAsync<TransferException>(() => client.GetAsync(url, dir.Combine("f"), options, new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit));
        Assert.Equal(ExitCode.Timeout, e.Code);

        // The client asked 5 times (the request and 4 retransmissions) and nothing more.
        int requests = 0;
        while (silent.Receive(TimeSpan.FromMilliseconds(50)) is { } r)
        {
            Assert.Equal((byte)TftpOpcode.Rrq, r.Data[1]);
            requests++;
        }

        Assert.Equal(5, requests);
    }

    [Fact]
    public async Task Paths_stay_inside_the_root()
    {
        await using var server = new TftpServerFixture(allowWrite: true);
        server.CreateFile("ok.bin", 10);
        using var peer = new RawTftpPeer();
        foreach (string bad in new[] { "../../etc/passwd", "a/../../x", "dir\\file" })
        {
            peer.SendRequest(TftpOpcode.Rrq, bad, server.EndPoint);
            Assert.Equal(TftpErrorCode.AccessViolation, peer.ExpectError(s_reply).Code);
            peer.SendRequest(TftpOpcode.Wrq, bad, server.EndPoint);
            Assert.Equal(TftpErrorCode.AccessViolation, peer.ExpectError(s_reply).Code);
        }

        // A leading '/' names the root (like tftpd-hpa --secure): "/etc/passwd" is root/etc/passwd, absent.
        peer.SendRequest(TftpOpcode.Rrq, "/etc/passwd", server.EndPoint);
        Assert.Equal(TftpErrorCode.FileNotFound, peer.ExpectError(s_reply).Code);
        peer.SendRequest(TftpOpcode.Rrq, "/ok.bin", server.EndPoint);
        var data = peer.Receive(s_reply);
        Assert.True(data is not null && TftpPacketReader.TryReadData(data.Value.Data, out ushort block, out _) && block == 1);
    }

    [Fact]
    public async Task Concurrent_writes_to_the_same_path_are_refused()
    {
        await using var server = new TftpServerFixture(allowWrite: true);
        using var first = new RawTftpPeer();
        using var second = new RawTftpPeer();
        first.SendRequest(TftpOpcode.Wrq, "same.bin", server.EndPoint);
        var ack = first.Receive(s_reply);
        Assert.True(ack is not null && TftpPacketReader.TryReadAck(ack.Value.Data, out ushort b) && b == 0);

        second.SendRequest(TftpOpcode.Wrq, "same.bin", server.EndPoint, new TftpOption("tsize", "5"));
        var (code, message) = second.ExpectError(s_reply);
        Assert.Equal(TftpErrorCode.NotDefined, code);
        Assert.Contains("being uploaded", message);
    }

    [Fact]
    public async Task Malformed_packets_get_an_error_or_are_dropped_and_the_server_keeps_serving()
    {
        await using var server = new TftpServerFixture();
        var data = server.CreateFile("f.bin", 200_000, seed: 5);
        using var peer = new RawTftpPeer();

        // Requests that do not parse: ERROR 4 each.
        var badRequests = new List<byte[]>
        {
            new byte[] { 0, 1 },
            Concat(new byte[] { 0, 1 }, "no-terminator"),
            Concat(new byte[] { 0, 1 }, "f.bin\0octet"),
            Concat(new byte[] { 0, 2 }, "f.bin\0mail\0"),
            Concat(new byte[] { 0, 1 }, "f.bin\0octet\0blksize\0"),
            Concat(new byte[] { 0, 1 }, "f.bin\0octet\0" + string.Concat(Enumerable.Range(0, 40).Select(i => $"o{i}\0{i}\0"))),
            Concat(new byte[] { 0, 1 }, new string('x', 3000) + "\0octet\0"),
        };
        foreach (var bad in badRequests)
        {
            peer.Send(bad, server.EndPoint);
            Assert.Equal(TftpErrorCode.IllegalOperation, peer.ExpectError(s_reply).Code);
        }

        // Not requests at all (unknown opcodes, stray DATA/ACK/ERROR/OACK, empty): dropped without a reply.
        var strays = new List<byte[]>
        {
            Array.Empty<byte>(), new byte[] { 0 }, new byte[] { 0, 9, 1, 2 }, new byte[] { 0xFF, 0xFF },
            new byte[] { 0, 3, 0, 1, 1, 2, 3 }, new byte[] { 0, 4, 0, 1 }, new byte[] { 0, 5, 0, 1, 0 }, new byte[] { 0, 6 },
        };
        var rng = new Random(7);
        for (int i = 0; i < 500; i++)
        {
            var junk = new byte[rng.Next(2, 80)];
            rng.NextBytes(junk);
            junk[0] = 0;
            junk[1] = (byte)rng.Next(3, 256);
            strays.Add(junk);
        }

        foreach (var stray in strays)
        {
            peer.Send(stray, server.EndPoint);
        }

        Assert.Null(peer.Receive(TimeSpan.FromMilliseconds(300)));

        // The server still serves, and the counters saw everything.
        var client = new TftpClient();
        string output = server.Local("f.bin");
        await client.GetAsync(server.Url("f.bin"), output, new ClientOptions { BlockSize = 1400, WindowSize = 8 }, new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit);
        Assert.Equal(data, await File.ReadAllBytesAsync(output));
        Assert.Equal(badRequests.Count, server.Listener.MalformedRequests);
        Assert.True(server.Listener.DroppedDatagrams >= strays.Count - 1);
    }

    [Fact]
    public async Task Packets_from_a_foreign_transfer_id_get_error_5_and_do_not_disturb_the_transfer()
    {
        await using var server = new TftpServerFixture();
        var data = server.CreateFile("f.bin", 3000, seed: 6);
        using var client = new RawTftpPeer();
        using var intruder = new RawTftpPeer();
        client.SendRequest(TftpOpcode.Rrq, "f.bin", server.EndPoint);
        var first = client.Receive(s_reply)!.Value;
        var tid = first.From;
        Assert.NotEqual(server.Port, tid.Port);

        // The intruder acknowledges block 1 from another port: ERROR 5 to the intruder, nothing to the client.
        intruder.SendAck(1, tid);
        Assert.Equal(TftpErrorCode.UnknownTransferId, intruder.ExpectError(s_reply).Code);
        Assert.Null(client.Receive(TimeSpan.FromMilliseconds(200)));

        var received = new MemoryStream();
        TftpPacketReader.TryReadData(first.Data, out _, out var payload);
        received.Write(payload);
        for (ushort block = 1; ; block++)
        {
            client.SendAck(block, tid);
            if (payload.Length < 512)
            {
                break;
            }

            var next = client.Receive(s_reply)!.Value;
            Assert.Equal(tid, next.From);
            Assert.True(TftpPacketReader.TryReadData(next.Data, out ushort b, out var p));
            Assert.Equal(block + 1, b);
            payload = p.ToArray();
            received.Write(payload);
        }

        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public async Task Per_source_limit_refuses_extra_concurrent_transfers()
    {
        await using var server = new TftpServerFixture();
        server.CreateFile("f.bin", 100_000);
        var peers = Enumerable.Range(0, TftpListener.MaxSessionsPerSource + 1).Select(_ => new RawTftpPeer()).ToList();
        try
        {
            // Each of these clients asks and then goes silent: the server holds a session for each.
            for (int i = 0; i < TftpListener.MaxSessionsPerSource; i++)
            {
                peers[i].SendRequest(TftpOpcode.Rrq, "f.bin", server.EndPoint);
                var r = peers[i].Receive(s_reply);
                Assert.True(r is not null && r.Value.Data[1] == (byte)TftpOpcode.Data);
            }

            peers[^1].SendRequest(TftpOpcode.Rrq, "f.bin", server.EndPoint);
            var (code, message) = peers[^1].ExpectError(s_reply);
            Assert.Equal(TftpErrorCode.NotDefined, code);
            Assert.Contains("too many", message);
            Assert.Equal(1, server.Listener.RefusedForLimits);
        }
        finally
        {
            peers.ForEach(p => p.Dispose());
        }
    }

    [Fact]
    public async Task Server_sends_one_packet_per_request_until_the_client_answers()
    {
        await using var server = new TftpServerFixture();
        server.CreateFile("f.bin", 100_000);
        using var peer = new RawTftpPeer();
        peer.SendRequest(TftpOpcode.Rrq, "f.bin", server.EndPoint, new TftpOption("blksize", "1400"), new TftpOption("windowsize", "64"), new TftpOption("timeout", "1"));
        var oack = peer.Receive(s_reply)!.Value;
        Assert.Equal((byte)TftpOpcode.Oack, oack.Data[1]);

        // Silence for longer than the 1 s timeout: no retransmission to an address that never answered.
        Assert.Null(peer.Receive(TimeSpan.FromMilliseconds(1500)));

        // Repeating the request repeats the OACK once, from the same transfer ID.
        peer.SendRequest(TftpOpcode.Rrq, "f.bin", server.EndPoint, new TftpOption("blksize", "1400"), new TftpOption("windowsize", "64"), new TftpOption("timeout", "1"));
        var again = peer.Receive(s_reply)!.Value;
        Assert.Equal(oack.Data, again.Data);
        Assert.Equal(oack.From, again.From);
        Assert.Null(peer.Receive(TimeSpan.FromMilliseconds(300)));

        // ACK 0: exactly one window (64 blocks) comes back.
        peer.SendAck(0, oack.From);
        int blocks = 0;
        while (peer.Receive(TimeSpan.FromMilliseconds(300)) is { } d && d.Data[1] == (byte)TftpOpcode.Data)
        {
            blocks++;
            if (blocks == 64)
            {
                break;
            }
        }

        Assert.Equal(64, blocks);
        Assert.Null(peer.Receive(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Ferry_cli_get_reports_not_found_with_exit_code_3()
    {
        await using var server = new TftpServerFixture();
        using var process = new FerryProcess("get", server.Url("nope.bin").ToString(), server.Local("nope.bin"), "--json", "--timeout", "1");
        Assert.Equal((int)ExitCode.Refused, await process.WaitExitAsync(s_limit));
    }

    private static byte[] Concat(byte[] head, string tail) => [.. head, .. Encoding.ASCII.GetBytes(tail)];
}
