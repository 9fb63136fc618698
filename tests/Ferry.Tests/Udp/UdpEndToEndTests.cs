using Ferry.Protocol.Common;
using System.Net;
using System.Net.Sockets;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Ferry.Udp;

namespace Ferry.Tests.Udp;

/// <summary>The real udp:// listener and client over 127.0.0.1.</summary>
public class UdpEndToEndTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(60);

    private static byte[] WriteRandom(string path, int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        File.WriteAllBytes(path, data);
        return data;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1_000_003)]
    [InlineData(8 << 20)]
    public async Task Upload_then_download_is_byte_identical(int size)
    {
        await using var server = new UdpServerFixture();
        var data = WriteRandom(server.Local("src.bin"), size, size);
        var client = new UdpTransferClient();

        var up = await client.SendAsync(server.Local("src.bin"), server.Url("a/b/file.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit);
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(server.Root, "a/b/file.bin")));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)), up.Sha256Hex);

        var down = await client.GetAsync(server.Url("a/b/file.bin"), server.Local("copy.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit);
        Assert.Equal(data, File.ReadAllBytes(server.Local("copy.bin")));
        Assert.Equal(up.Sha256Hex, down.Sha256Hex);
        // Nothing but the file itself is left in the directories (no temp or journal files).
        Assert.Equal(new[] { "file.bin" }, Directory.GetFiles(Path.Combine(server.Root, "a/b")).Select(Path.GetFileName));
        Assert.Equal(new[] { "copy.bin", "src.bin" }, Directory.GetFiles(server.Scratch).Select(Path.GetFileName).Order());
    }

    [Theory]
    [InlineData("../escape.bin")]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../escape.bin")]
    [InlineData("dir\\file")]
    [InlineData("nul\0byte")]
    [InlineData("ctrl\u0007char")]
    [InlineData("out/passwd")]
    [InlineData("zero")]
    [InlineData("")]
    public async Task Paths_that_leave_the_root_or_are_not_files_are_refused(string path)
    {
        await using var server = new UdpServerFixture();
        Directory.CreateSymbolicLink(Path.Combine(server.Root, "out"), "/etc");
        File.CreateSymbolicLink(Path.Combine(server.Root, "zero"), "/dev/zero");
        WriteRandom(server.Local("src.bin"), 1000, 1);

        var get = await Assert.ThrowsAsync<TransferException>(() =>
            UdpTransferClient.GetRawAsync(server.EndPoint, path, server.Local("got.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit));
        Assert.Equal(ExitCode.Refused, get.Code);
        Assert.False(File.Exists(server.Local("got.bin")));

        var put = await Assert.ThrowsAsync<TransferException>(() =>
            UdpTransferClient.SendRawAsync(server.EndPoint, server.Local("src.bin"), path, new ClientOptions(), new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit));
        Assert.Equal(ExitCode.Refused, put.Code);
        Assert.False(File.Exists(Path.Combine(server.Scratch, "escape.bin")));
    }

    [Fact]
    public async Task Existing_file_is_not_overwritten_without_allow_overwrite()
    {
        await using var server = new UdpServerFixture();
        File.WriteAllText(Path.Combine(server.Root, "keep.txt"), "original");
        WriteRandom(server.Local("src.bin"), 5000, 2);
        var e = await Assert.ThrowsAsync<TransferException>(() =>
            new UdpTransferClient().SendAsync(server.Local("src.bin"), server.Url("keep.txt"), new ClientOptions(), new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("already exists", e.Message);
        Assert.Equal("original", File.ReadAllText(Path.Combine(server.Root, "keep.txt")));
    }

    [Fact]
    public async Task Concurrent_upload_of_the_same_path_is_refused_and_a_silent_one_is_taken_over()
    {
        await using var server = new UdpServerFixture();
        WriteRandom(server.Local("src.bin"), 100_000, 3);
        // A first client that opens an upload and then goes silent (as if killed), holding the path.
        using var stalled = new StalledUploader(server.EndPoint, "same.bin", size: 100_000);
        await stalled.WaitAcceptedAsync(s_limit);

        var e = await Assert.ThrowsAsync<TransferException>(() =>
            new UdpTransferClient().SendAsync(server.Local("src.bin"), server.Url("same.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("being uploaded", e.Message);

        // Once the first uploader has been silent for the stale period the path is taken over: retry while busy.
        var deadline = DateTime.UtcNow + s_limit;
        while (true)
        {
            try
            {
                await new UdpTransferClient().SendAsync(server.Local("src.bin"), server.Url("same.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit);
                break;
            }
            catch (TransferException busy) when (busy.Message.Contains("being uploaded") && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
        Assert.Equal(File.ReadAllBytes(server.Local("src.bin")), File.ReadAllBytes(Path.Combine(server.Root, "same.bin")));
    }

    [Fact]
    public async Task Twenty_clients_at_once_all_get_identical_copies()
    {
        await using var server = new UdpServerFixture();
        var data = WriteRandom(Path.Combine(server.Root, "shared.bin"), 1_500_000, 4);
        var tasks = Enumerable.Range(0, 20).Select(i => new UdpTransferClient().GetAsync(
            server.Url("shared.bin"), server.Local($"copy{i}.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None)).ToArray();
        var uploads = Enumerable.Range(0, 5).Select(i =>
        {
            WriteRandom(server.Local($"up{i}.src"), 300_000 + i, 10 + i);
            return new UdpTransferClient().SendAsync(server.Local($"up{i}.src"), server.Url($"up/{i}.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None);
        }).ToArray();
        await Task.WhenAll(tasks.Concat(uploads)).WaitAsync(TimeSpan.FromSeconds(120));
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(data, File.ReadAllBytes(server.Local($"copy{i}.bin")));
        }

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(File.ReadAllBytes(server.Local($"up{i}.src")), File.ReadAllBytes(Path.Combine(server.Root, $"up/{i}.bin")));
        }
    }

    [Fact]
    public async Task Hostile_datagrams_do_not_stop_a_running_transfer()
    {
        await using var server = new UdpServerFixture();
        var data = WriteRandom(Path.Combine(server.Root, "big.bin"), 16 << 20, 5);
        var transfer = new UdpTransferClient().GetAsync(server.Url("big.bin"), server.Local("copy.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None);

        using var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var rng = new Random(6);
        var valid = BuildInitial(rng);
        var buffer = new byte[1500];
        for (int i = 0; i < 5000; i++)
        {
            int kind = i % 4;
            int length;
            if (kind == 0)
            {
                length = rng.Next(0, buffer.Length);
                rng.NextBytes(buffer.AsSpan(0, length));
            }
            else if (kind == 1)
            {
                length = rng.Next(1, valid.Length); // a valid packet, truncated
                valid.AsSpan(0, length).CopyTo(buffer);
            }
            else if (kind == 2)
            {
                // A well-formed Initial with a forged token: answered by at most a small Retry.
                length = valid.Length;
                valid.CopyTo(buffer, 0);
                buffer[rng.Next(22, 40)] ^= 0x55;
                Packet.Seal(buffer, length - Packet.TrailerSize);
            }
            else
            {
                // Data packets for connection ids that do not exist, with valid checksums.
                length = 200;
                rng.NextBytes(buffer.AsSpan(0, length));
                Packet.WriteHeader(buffer, PacketType.Data, (ulong)rng.NextInt64(), (ulong)i);
                Packet.Seal(buffer, length - Packet.TrailerSize);
            }

            attacker.SendTo(buffer.AsSpan(0, length), SocketFlags.None, server.EndPoint);
        }

        await transfer.WaitAsync(s_limit);
        Assert.Equal(data, File.ReadAllBytes(server.Local("copy.bin")));
        var stats = server.Listener.Stats;
        Assert.True(stats.Malformed + stats.BadChecksum + stats.UnknownConnection + stats.ShortInitial > 1000, "the junk was seen and dropped");
        Assert.Equal(1, stats.ConnectionsCreated);
    }

    internal static byte[] BuildInitial(Random rng)
    {
        var buffer = new byte[Packet.MinInitialSize];
        int pos = Packet.WriteHeader(buffer, PacketType.Initial, 0, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(pos), (ulong)rng.NextInt64());
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(pos + 8), RetryTokens.TokenLength);
        rng.NextBytes(buffer.AsSpan(pos + 10, RetryTokens.TokenLength));
        var w = new SpanWriter(buffer.AsSpan(pos + 10 + RetryTokens.TokenLength, 200));
        FrameCodec.TryWriteHello(ref w, FrameType.Hello, [Ferry.Protocol.Security.HandshakeMessages.Version, Ferry.Protocol.Security.HandshakeMessages.SuiteNone]);
        FrameCodec.TryWriteRequest(ref w, TransferOp.Get, 1452, "big.bin", 0, 0, 0, "");
        Packet.Seal(buffer, buffer.Length - Packet.TrailerSize);
        return buffer;
    }
}

/// <summary>The junk flood measures the managed heap, so it runs without other tests beside it.</summary>
[Collection(SerialCollection.Name)]
public class UdpJunkFloodTests
{
    [Fact]
    public async Task A_flood_of_junk_leaves_no_state_and_no_memory_behind()
    {
        await using var server = new UdpServerFixture();
        using var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var rng = new Random(7);
        var initial = UdpEndToEndTests.BuildInitial(rng);
        var buffer = new byte[1500];

        async Task Flood(int count)
        {
            long before = server.Listener.Stats.Datagrams;
            for (int i = 0; i < count; i++)
            {
                int length = i % 2 == 0 ? rng.Next(0, buffer.Length) : initial.Length;
                if (i % 2 == 0)
                {
                    rng.NextBytes(buffer.AsSpan(0, length));
                }
                else
                {
                    initial.CopyTo(buffer, 0); // forged token: each gets a Retry, nothing else
                }

                attacker.SendTo(buffer.AsSpan(0, length), SocketFlags.None, server.EndPoint);
                if (i % 500 == 499)
                {
                    await Task.Yield(); // let the server keep up; the socket buffer would drop the rest anyway
                }
            }

            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (server.Listener.Stats.Datagrams - before < count * 9 / 10 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
        }

        await Flood(5_000); // warm up: JIT, pools
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        await Flood(20_000);
        long heapGrowth = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;

        Assert.Equal(0, server.Listener.ActiveConnections);
        Assert.Equal(0, server.Listener.Stats.ConnectionsCreated);
        Assert.True(heapGrowth < 1 << 20, $"managed heap grew by {heapGrowth} bytes over 20,000 junk datagrams");
    }
}
