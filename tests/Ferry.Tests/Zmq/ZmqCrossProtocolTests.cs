using System.Net;
using Ferry.Transfers;
using Ferry.Udp;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Zmq;

/// <summary>Rule 6 across protocols with the real udp:// listener on the same server context (keyless here, so the udp client uses --insecure).</summary>
public sealed class ZmqCrossProtocolTests
{
    [ZmqFact]
    public async Task A_path_held_by_zmq_is_refused_to_a_udp_upload_and_free_again_after_close()
    {
        await using var server = new ZmqServerFixture();
        await using var udp = new UdpServerListener(server.Context, IPAddress.Loopback, 0);
        using var stop = new CancellationTokenSource();
        var udpRun = udp.RunAsync(stop.Token);
        var udpUrl = new Uri($"udp://127.0.0.1:{((IPEndPoint)udp.LocalEndPoint).Port}/shared.bin");
        string src = Path.Combine(server.Root, "..", "udp-src.bin");
        byte[] data = Bytes(100_000, 3);
        await File.WriteAllBytesAsync(src, data);

        using var c = new TestDealer(server.Endpoint);
        Assert.Equal("READY", c.Call(Hello("shared.bin")));
        var e = await Assert.ThrowsAsync<TransferException>(() =>
            new UdpTransferClient().SendAsync(src, udpUrl, new ClientOptions { Insecure = true }, new Progress<TransferProgress>(), CancellationToken.None)
                .WaitAsync(ZmqServerFixture.Wait));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("being uploaded by zmq", e.Message);

        // Give it up over zmq (a CLOSE that cannot match aborts); then udp may have it.
        Assert.StartsWith("ERROR size mismatch", c.Call(Close("shared.bin", 1)));
        var ok = await new UdpTransferClient().SendAsync(src, udpUrl, new ClientOptions { Insecure = true }, new Progress<TransferProgress>(), CancellationToken.None)
            .WaitAsync(ZmqServerFixture.Wait);
        Assert.Equal(data.Length, ok.Bytes);
        Assert.Equal(data, await File.ReadAllBytesAsync(server.PathOf("shared.bin")));

        // And now the file exists: zmq refuses it. The udp server may still be letting go of the name for a moment
        // after its client got the result (it answers first), so "busy" is retried, within a bound.
        string reply = c.Call(Hello("shared.bin"));
        var deadline = DateTime.UtcNow + ZmqServerFixture.Wait;
        while (reply.StartsWith("ERROR busy:", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            reply = c.Call(Hello("shared.bin"));
        }

        Assert.StartsWith("ERROR exists:", reply);
        await stop.CancelAsync();
        try
        {
            await udpRun.WaitAsync(ZmqServerFixture.Wait);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
