using System.Net;
using System.Net.Sockets;
using Ferry.Tests.Support;

namespace Ferry.Tests.Cli;

/// <summary>
/// <c>ferry send</c> and <c>ferry get</c> as a user meets them: the help lists what applies, an option of another
/// scheme is ignored with a warning, the start event names the URL, and a download into a directory that does not
/// exist fails before anything is sent.
/// </summary>
public sealed class TransferCommandProcessTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Help_lists_only_what_applies_to_the_command()
    {
        string get = await HelpOf("get");
        string send = await HelpOf("send");
        string chat = await HelpOf("chat");

        Assert.DoesNotContain("--chunk-size", get, StringComparison.Ordinal);
        Assert.Contains("--chunk-size", send, StringComparison.Ordinal);
        Assert.Contains("--server-key", chat, StringComparison.Ordinal);
        Assert.DoesNotContain("zmq", chat, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("CURVE", chat, StringComparison.Ordinal);
        Assert.Contains("every scheme", send, StringComparison.Ordinal);
        Assert.Contains("every scheme", get, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_warns_about_options_of_other_schemes_and_its_start_event_carries_the_url()
    {
        await using var server = new UdpServerFixture();
        string src = server.Local("src.bin");
        await File.WriteAllTextAsync(src, "hello");
        string url = $"udp://127.0.0.1:{server.EndPoint.Port}/w.bin";

        using var send = new FerryProcess("send", src, url, "--json", "--blksize", "512", "--chunk-size", "4096", "--streams", "2", "--cc", "newreno");
        Assert.Equal(0, await send.WaitExitAsync(s_limit));

        var start = send.Events[0];
        Assert.Equal("start", start.GetProperty("event").GetString());
        Assert.Equal(url, start.GetProperty("url").GetString());
        string stderr = send.StandardError;
        Assert.Contains("ferry: warning: --blksize is ignored for udp:// (it applies to tftp://)", stderr, StringComparison.Ordinal);
        Assert.Contains("ferry: warning: --chunk-size is ignored for udp:// (it applies to zmq://)", stderr, StringComparison.Ordinal);
        Assert.Contains("ferry: warning: --streams is ignored for udp:// (it applies to tcp://)", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--cc", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_into_a_missing_directory_fails_before_connecting()
    {
        // A UDP port that records whether anything was sent to it.
        using var silent = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)silent.Client.LocalEndPoint!).Port;
        string dest = Path.Combine(Path.GetTempPath(), "ferry-missing-" + Guid.NewGuid().ToString("N"), "copy.bin");

        using var get = new FerryProcess("get", $"udp://127.0.0.1:{port}/x", dest, "--timeout", "30", "--windowsize", "4");
        Assert.Equal(6, await get.WaitExitAsync(s_limit));

        Assert.Contains($"cannot write '{dest}': the directory '{Path.GetDirectoryName(dest)}' does not exist", get.StandardError, StringComparison.Ordinal);
        Assert.Contains("warning: --windowsize is ignored for udp://", get.StandardError, StringComparison.Ordinal);
        Assert.Equal(0, silent.Available);
    }

    private static async Task<string> HelpOf(string command)
    {
        using var help = new FerryProcess(command, "--help");
        Assert.Equal(0, await help.WaitExitAsync(s_limit));
        return string.Join('\n', help.OutputLines);
    }
}
