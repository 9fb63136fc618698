using Ferry.Tests.Support;
using Ferry.Tests.Tcp;

namespace Ferry.Tests.Cli;

/// <summary><c>-v</c> / <c>FERRY_LOG=debug</c>: the real executable describes the connection on stderr.</summary>
public sealed class VerboseTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task UdpSaysHandshakePathKeyAndTheEndStatistics()
    {
        await using var server = new UdpServerFixture();
        string src = server.Local("v.bin");
        File.WriteAllBytes(src, new byte[300_000]);
        using var ferry = new FerryProcess("send", src, server.Url("v.bin").ToString(), "-v", "--json");
        Assert.Equal(0, await ferry.WaitExitAsync(s_bound));
        string err = ferry.StandardError;
        Assert.Contains($"ferry: udp: send 'v.bin' (300000 bytes) at 127.0.0.1:{server.EndPoint.Port}", err);
        Assert.Contains("protocol version 2, encrypted", err);
        Assert.Matches(@"ferry: server key SHA256:\S+: (new, pinned now|matches the pinned key)", err);
        Assert.Contains("ferry: udp: handshake done in", err);
        Assert.Matches(@"ferry: udp: rtt [\d.]+ ms \(min [\d.]+ ms\); \d+ of \d+ packets lost", err);
        Assert.Contains("waiting for datagrams or its pacer", err);
    }

    [Fact]
    public async Task TcpSaysTheStreamsAndTheirBytesOnceAndWithoutVerboseNothing()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        File.WriteAllBytes(Path.Combine(env.Root, "t.bin"), new byte[1 << 20]);
        string dest = Path.Combine(env.Local, "t.bin");
        using var ferry = new FerryProcess(["get", server.Url("t.bin").ToString(), dest, "--streams", "2", "--insecure", "--json"], ("FERRY_LOG", "debug"));
        Assert.Equal(0, await ferry.WaitExitAsync(s_bound));
        string err = ferry.StandardError;
        Assert.Contains($"ferry: tcp: path 't.bin' at 127.0.0.1:{server.Port}", err);
        Assert.Contains("ferry: tcp: cleartext session with 127.0.0.1:", err);
        Assert.Matches(@"ferry: tcp: 2 streams, bytes per stream: #0 \d+, #1 \d+;", err);

        using var quiet = new FerryProcess("get", server.Url("t.bin").ToString(), Path.Combine(env.Local, "u.bin"), "--insecure", "--json");
        Assert.Equal(0, await quiet.WaitExitAsync(s_bound));
        Assert.DoesNotContain("ferry: tcp:", quiet.StandardError);
    }
}
