using System.Net;
using System.Net.Sockets;
using Ferry.Tests.Files;
using Ferry.Tests.Support;

namespace Ferry.Tests.Cli;

/// <summary>
/// The real <c>ferry send</c> at a server that is not there: it says where it is connecting, gives up after
/// <c>--connect-timeout</c> (not the much longer <c>--timeout</c>) with exit 5, and names host:port.
/// </summary>
public sealed class ConnectTimeoutTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    /// <summary>udp:// and tftp://: a bound socket that never answers; tcp:// and zmq://: a port nothing listens on.</summary>
    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("zmq")]
    [InlineData("tftp")]
    public async Task NothingAnsweringGivesUpAfterTheConnectTimeout(string scheme)
    {
        using var dir = new TempDir();
        string src = dir.Combine("a.bin");
        File.WriteAllBytes(src, new byte[1000]);
        using var silent = new Socket(AddressFamily.InterNetwork, scheme is "udp" or "tftp" ? SocketType.Dgram : SocketType.Stream, scheme is "udp" or "tftp" ? ProtocolType.Udp : ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)silent.LocalEndPoint!).Port;
        if (scheme is "tcp" or "zmq")
        {
            silent.Close(); // bound, never listening, now free: connections are refused
        }

        var args = new List<string> { "send", src, $"{scheme}://127.0.0.1:{port}/a.bin", "--json", "--connect-timeout", "1", "--timeout", "60" };
        if (scheme != "tftp")
        {
            args.Add("--insecure");
        }

        using var ferry = new FerryProcess([.. args]);
        int code = await ferry.WaitExitAsync(s_bound);

        Assert.Equal(5, code);
        var error = ferry.Events.Single(e => e.GetProperty("event").GetString() == "error");
        string message = error.GetProperty("message").GetString()!;
        Assert.Contains($"no answer from 127.0.0.1:{port}", message);
        if (scheme != "tcp")
        {
            // A refused TCP connection fails at once; the others wait the connect timeout, not --timeout's 60 s.
            Assert.Contains("within 1 s", message);
        }

        var connecting = ferry.Events.Single(e => e.GetProperty("event").GetString() == "connecting");
        Assert.Equal($"127.0.0.1:{port}", connecting.GetProperty("to").GetString());
        Assert.DoesNotContain(ferry.Events, e => e.GetProperty("event").GetString() == "progress");
    }

    [Fact]
    public async Task ANonPositiveConnectTimeoutIsAUsageError()
    {
        using var ferry = new FerryProcess("send", "/nonexistent", "udp://127.0.0.1:9/a", "--connect-timeout", "0");
        Assert.Equal(2, await ferry.WaitExitAsync(s_bound));
    }
}
