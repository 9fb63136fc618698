using Ferry.Transfers;
using Ferry.Zmq;
using Ferry.Zmq.Client;

namespace Ferry.Tests.Zmq;

/// <summary>The zmq:// ITransferClient: URLs, refusals, exit codes, cancellation.</summary>
public sealed class ZmqClientTests
{
    [Fact]
    public void Urls_map_to_tcp_endpoints_with_the_default_port()
    {
        Assert.Equal("tcp://example.org:7702", ZmqTransferClient.Endpoint(new Uri("zmq://example.org/a/b"), out bool v6));
        Assert.False(v6);
        Assert.Equal("tcp://127.0.0.1:9000", ZmqTransferClient.Endpoint(new Uri("zmq://127.0.0.1:9000/a"), out _));
        Assert.Equal("tcp://[::1]:7702", ZmqTransferClient.Endpoint(new Uri("zmq://[::1]/a"), out v6));
        Assert.True(v6);
    }

    [Fact]
    public void Cli_registration_knows_the_zmq_scheme()
    {
        Ferry.Cli.Registration.RegisterAll();
        Assert.IsType<ZmqTransferClient>(TransferClients.For(new Uri("zmq://h/f")));
        Assert.Contains("zmq", TransferClients.Schemes);
    }

    [Fact]
    public async Task Download_is_a_usage_error_saying_upload_only()
    {
        var e = await Assert.ThrowsAsync<TransferException>(() =>
            new ZmqTransferClient().GetAsync(new Uri("zmq://127.0.0.1/x"), "x", new ClientOptions(), new Progress<TransferProgress>(), CancellationToken.None));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Contains("zmq:// supports upload only", e.Message);
    }

    [ZmqFact]
    public async Task Refusals_map_to_exit_codes_with_the_server_text()
    {
        await using var server = new ZmqServerFixture();
        File.WriteAllText(server.PathOf("there"), "x");
        string src = Path.Combine(server.Root, "..", "c.bin");
        await File.WriteAllBytesAsync(src, ZmqFrames.Bytes(1000, 1));
        var client = new ZmqTransferClient();

        var exists = await Assert.ThrowsAsync<TransferException>(() => Send(client, src, server.Url("there"), server.ClientOptions()));
        Assert.Equal(ExitCode.Refused, exists.Code);
        Assert.Equal("server: 'there' already exists on the server (it runs without --allow-overwrite) (AlreadyExists)", exists.Message);

        var bad = await Assert.ThrowsAsync<TransferException>(() => Send(client, src, TransferClients.ParseUrl(server.Url("x") + "\0y"), server.ClientOptions()));
        Assert.Equal(ExitCode.Refused, bad.Code);
        Assert.Contains("(InvalidPath)", bad.Message);

        var missing = await Assert.ThrowsAsync<TransferException>(() => Send(client, src + ".nope", server.Url("y"), server.ClientOptions()));
        Assert.Equal(ExitCode.LocalIo, missing.Code);

        var chunk = await Assert.ThrowsAsync<TransferException>(() => Send(client, src, server.Url("y"), server.ClientOptions(chunkSize: 0)));
        Assert.Equal(ExitCode.Usage, chunk.Code);
    }

    [ZmqFact]
    public async Task No_server_is_a_timeout()
    {
        // A bound but never-served port: connections are accepted by nobody, so no reply ever comes.
        using var ctx = new Ferry.Zmq.Native.ZmqContext();
        using var idle = ctx.CreateSocket(Ferry.Zmq.Native.ZmqSocketType.Router);
        idle.Bind("tcp://127.0.0.1:*");
        string src = Path.GetTempFileName();
        try
        {
            var e = await Assert.ThrowsAsync<TransferException>(() => Send(
                new ZmqTransferClient(), src, new Uri("zmq://" + idle.LastEndpoint["tcp://".Length..] + "/f"), new ClientOptions { Timeout = TimeSpan.FromMilliseconds(300), Insecure = true }));
            Assert.Equal(ExitCode.Timeout, e.Code);
        }
        finally
        {
            File.Delete(src);
        }
    }

    [ZmqFact]
    public async Task Cancelling_mid_upload_aborts_on_the_server_at_once()
    {
        // The server's idle timeout (60 s) is far beyond the bound below: only the client's abort can end the transfer.
        // (It used to be lost about one run in eight: the client closed its socket before the abort had left it.)
        await using var server = new ZmqServerFixture(idleTimeout: TimeSpan.FromSeconds(60), curve: true);
        string src = Path.Combine(server.Root, "..", "cancel.bin");
        await File.WriteAllBytesAsync(src, ZmqFrames.Bytes(64 << 20, 2));
        using var cts = new CancellationTokenSource();
        var progress = new CancelOnProgress(cts);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new ZmqTransferClient().SendAsync(src, server.Url("c/big"), server.ClientOptions(chunkSize: 256 << 10), progress, cts.Token));

        // The client's deliberate bad CLOSE aborts the transfer, and the client waits for its answer before it
        // closes the socket, so the server has seen it by the time SendAsync returns.
        var e = await server.NextEventAsync().WaitAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(ZmqTransferOutcome.Aborted, e.Outcome);
        Assert.Empty(server.TempFiles());
        Assert.False(File.Exists(server.PathOf("c/big")));
    }

    private static Task<TransferResult> Send(ZmqTransferClient client, string src, Uri url, ClientOptions? options = null) =>
        client.SendAsync(src, url, options ?? new ClientOptions { Insecure = true }, new Progress<TransferProgress>(), CancellationToken.None);

    private sealed class CancelOnProgress(CancellationTokenSource cts) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            if (value.BytesDone > 0)
            {
                cts.Cancel();
            }
        }
    }
}
