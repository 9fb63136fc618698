using Ferry.Hosting;
using Ferry.Tests.Files;
using Ferry.Tests.Zmq;

namespace Ferry.Tests.Hosting;

/// <summary>A second server on a port in use fails to start, naming the protocol and the port.</summary>
public sealed class PortInUseTests
{
    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("tftp")]
    [InlineData("relay")]
    public Task SecondServer_OnSamePort_FailsNamingProtocolAndPort(string protocol) => AssertSecondServerFails(protocol);

    [ZmqFact]
    public Task SecondZmqServer_OnSamePort_FailsNamingProtocolAndPort() => AssertSecondServerFails("zmq");

    [Fact]
    public async Task SecondServeProcess_OnTcpPortInUse_ExitsWithMessage()
    {
        using var dir = new TempDir();
        var (first, port) = await ServeHarness.StartServeAsync(
            "tcp", ServeHarness.Only(dir.Combine("a"), dir.Combine("a-state"), "tcp", 0));
        using (first)
        {
            var (code, stderr) = await ServeHarness.RunAsync(
                ["serve", .. ServeHarness.Only(dir.Combine("b"), dir.Combine("b-state"), "tcp", port)]);

            Assert.Equal(1, code);
            Assert.Contains($"tcp port {port} is in use", stderr, StringComparison.Ordinal);
            Assert.Contains("--tcp-port", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("listening", stderr, StringComparison.Ordinal);
        }
    }

    private static async Task AssertSecondServerFails(string protocol)
    {
        using var dir = new TempDir();
        await using var first = await ServeHarness.StartAsync(ServeHarness.Options(dir.Combine("a"), protocol, 0));
        int port = ((System.Net.IPEndPoint)Assert.Single(first.Listeners).LocalEndPoint).Port;

        var ex = await Assert.ThrowsAsync<ListenerStartException>(() => ServeHarness.StartAsync(ServeHarness.Options(dir.Combine("b"), protocol, port)));

        Assert.Equal(protocol, ex.Protocol);
        Assert.Equal(port, ex.Port);
        Assert.Equal($"{protocol} port {port} is in use (by another server or program)", ex.Message);
    }
}
