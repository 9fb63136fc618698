using System.Diagnostics;
using Ferry.Files;
using Ferry.Tests.Support;
using Ferry.Tests.Tcp;
using Xunit.Abstractions;

namespace Ferry.Tests.Security;

/// <summary>
/// A client that goes silent mid-upload (as if its machine vanished: no FIN, no CLOSE) must not hold the path:
/// each listener releases the upload registry entry within its documented timeout (docs/PROTOCOL.md, "Limits"),
/// here shortened so the tests stay quick. Real sockets on 127.0.0.1.
/// </summary>
public sealed class VanishedPeerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Udp_upload_whose_client_vanishes_releases_the_path_after_the_idle_timeout()
    {
        await using var server = new UdpServerFixture(idleTimeout: TimeSpan.FromSeconds(1));
        using var stalled = new StalledUploader(server.EndPoint, "gone.bin", size: 100_000);
        await stalled.WaitAcceptedAsync(s_bound);
        Assert.Equal(1, server.Context.Files.Registry.Count);
        Assert.Equal(1, server.Listener.ActiveConnections);

        var released = await WaitUntilAsync(() => server.Context.Files.Registry.Count == 0 && server.Listener.ActiveConnections == 0);
        output.WriteLine($"udp: released {released.TotalSeconds:F1} s after ACCEPT (idle timeout 1 s); left: "
            + string.Join(", ", Directory.GetFiles(server.Root, "*", SearchOption.AllDirectories).Select(Path.GetFileName)));
        Assert.False(File.Exists(Path.Combine(server.Root, "gone.bin")));

        // The path is free again (no takeover needed): a real upload of it goes through.
        byte[] data = new byte[100_000];
        new Random(4).NextBytes(data);
        File.WriteAllBytes(server.Local("src.bin"), data);
        await new Ferry.Udp.UdpTransferClient().SendAsync(server.Local("src.bin"), server.Url("gone.bin"), new Ferry.Transfers.ClientOptions(), new RecordingProgress(), CancellationToken.None)
            .WaitAsync(s_bound);
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(server.Root, "gone.bin")));
    }

    [Fact]
    public async Task Tcp_upload_whose_client_goes_silent_releases_the_path_after_the_idle_timeout()
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Local, "src.bin");
        TcpTestEnv.WriteRandom(src, 40 * TcpTestEnv.BlockSize, seed: 5);
        var server = await env.StartServerAsync(idleTimeout: TimeSpan.FromSeconds(1), handshakeTimeout: TimeSpan.FromSeconds(2));
        var progressed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Every stream stops for good after a few blocks, connections left open: the server hears nothing more.
        using var cancel = new CancellationTokenSource();
        var upload = TcpTestEnv.Client(StallAfter(4)).SendAsync(src, server.Url("gone.bin"), TcpTestEnv.Options(2),
            TcpTestEnv.Progress(p => { if (p.BytesDone > 0) progressed.TrySetResult(); }), cancel.Token);
        await progressed.Task.WaitAsync(s_bound);
        Assert.Equal(1, server.Listener.Context.Files.Registry.Count);

        var released = await WaitUntilAsync(() => server.Listener.Context.Files.Registry.Count == 0);
        output.WriteLine($"tcp: released {released.TotalSeconds:F1} s after the first acknowledged block (idle timeout 1 s); left: "
            + string.Join(", ", Directory.GetFiles(env.Root, "*", SearchOption.AllDirectories).Select(Path.GetFileName)));
        Assert.False(File.Exists(Path.Combine(env.Root, "gone.bin")));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<Exception>(() => upload.WaitAsync(s_bound));

        // The path is free again and the blocks that arrived were kept: the next upload resumes after them.
        var result = await TcpTestEnv.Client().SendAsync(src, server.Url("gone.bin"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default).WaitAsync(s_bound);
        Assert.Equal(File.ReadAllBytes(src), File.ReadAllBytes(Path.Combine(env.Root, "gone.bin")));
        Assert.True(result.ResumedBytes > 0, "the partial upload was not kept for resume");
    }

    [Zmq.ZmqFact]
    public async Task Zmq_upload_whose_client_vanishes_is_aborted_and_its_temp_data_removed_after_the_idle_timeout()
    {
        await using var server = new Zmq.ZmqServerFixture(idleTimeout: TimeSpan.FromSeconds(1));
        using (var client = new Zmq.TestDealer(server.Endpoint))
        {
            Assert.Equal("READY", client.Call(Zmq.ZmqFrames.Hello("gone.bin")));
            Assert.Equal("READY", client.Call(Zmq.ZmqFrames.Chunk("gone.bin", 0, Zmq.ZmqFrames.Bytes(1000, 1))));
            Assert.Equal(1, server.Listener.OpenTransfers);

            // The client stays connected and says nothing more (a hung process): only the idle timeout can end it.
            var e = await server.NextEventAsync();
            Assert.Equal(Ferry.Zmq.ZmqTransferOutcome.Expired, e.Outcome);
        }

        Assert.Equal(0, server.Listener.OpenTransfers);
        Assert.Equal(0, server.Context.Files.Registry.Count);
        Assert.Empty(server.TempFiles());
    }

    [Fact]
    public async Task Tftp_upload_whose_client_vanishes_releases_the_path_and_its_temp_data_after_the_retransmissions()
    {
        // 200 ms per timeout instead of 5 s: the server gives up after 5 unanswered ACKs (about 1 s here, 25 s by default).
        var policy = new Ferry.Protocol.Tftp.TftpServerPolicy { DefaultTimeoutMicros = 200_000 };
        await using var server = new Tftp.TftpServerFixture(allowWrite: true, policy: policy);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        socket.ReceiveTimeout = (int)s_bound.TotalMilliseconds;

        // WRQ, then DATA 1 (a full block, so more must follow), then silence.
        socket.SendTo([0, 2, .. "gone.bin"u8, 0, .. "octet"u8, 0], server.EndPoint);
        var buffer = new byte[1024];
        System.Net.EndPoint from = new System.Net.IPEndPoint(System.Net.IPAddress.Any, 0);
        int n = socket.ReceiveFrom(buffer, ref from);
        Assert.Equal(new byte[] { 0, 4, 0, 0 }, buffer[..n]);
        var block = new byte[4 + 512];
        block[1] = 3;
        block[3] = 1;
        socket.SendTo(block, from);
        n = socket.ReceiveFrom(buffer, ref from);
        Assert.Equal(new byte[] { 0, 4, 0, 1 }, buffer[..n]);
        Assert.Equal(1, server.Context.Files.Registry.Count);

        var released = await WaitUntilAsync(() => server.Context.Files.Registry.Count == 0);
        output.WriteLine($"tftp: released {released.TotalSeconds:F1} s after the last ACK (timeout 0.2 s, 5 tries)");
        Assert.False(File.Exists(Path.Combine(server.Root, "gone.bin")));
        Assert.Empty(Directory.GetFiles(server.Root, "*.ferry-*", SearchOption.AllDirectories));
    }

    /// <summary>Holds every stream after <paramref name="free"/> items until the transfer is torn down.</summary>
    private static Ferry.Tcp.TcpTestHooks StallAfter(int free)
    {
        int sent = 0;
        return new Ferry.Tcp.TcpTestHooks
        {
            BeforeSendItem = async (stream, item, ct) =>
            {
                if (Interlocked.Increment(ref sent) > free)
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }

                return true;
            },
        };
    }

    /// <summary>Polls <paramref name="condition"/> until true (fails after the bound); returns how long it took.</summary>
    private static async Task<TimeSpan> WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < s_bound, "not released within the bound");
            await Task.Delay(20);
        }

        return clock.Elapsed;
    }
}
