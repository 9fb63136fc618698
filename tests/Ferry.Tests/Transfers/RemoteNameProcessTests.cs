using System.Text;
using Ferry.Tests.Support;
using Ferry.Tests.Tcp;

namespace Ferry.Tests.Transfers;

/// <summary>
/// The real <c>ferry send</c> to udp:// and tcp:// servers: names with '#', '?', '%', spaces and Unicode are stored
/// exactly as typed (two names that differ after a '#' are two files), and <c>ferry get</c> reads them back.
/// </summary>
public sealed class RemoteNameProcessTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(1);

    private static readonly string[] s_names = ["a#1", "a#2", "what?.pdf", "100%.txt", "a%20b", "sp ace", "résumé ✓ 日本.txt"];

    [Fact]
    public async Task Udp_stores_and_serves_exactly_the_names_given()
    {
        await using var server = new UdpServerFixture();
        await SendAllAndGetBack($"udp://127.0.0.1:{server.EndPoint.Port}/", server.Root, server.Local("local"));
    }

    [Fact]
    public async Task Tcp_stores_and_serves_exactly_the_names_given()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        await SendAllAndGetBack($"tcp://127.0.0.1:{server.Port}/", env.Root, env.Local);
    }

    private static async Task SendAllAndGetBack(string baseUrl, string root, string local)
    {
        Directory.CreateDirectory(local);
        foreach (string name in s_names)
        {
            string src = Path.Combine(local, "src.bin");
            await File.WriteAllTextAsync(src, "content of " + name);
            await RunOk("send", src, baseUrl + "n/" + name);
        }

        var stored = Directory.GetFiles(Path.Combine(root, "n")).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(s_names.Order(StringComparer.Ordinal), stored);
        foreach (string name in s_names)
        {
            Assert.Equal("content of " + name, await File.ReadAllTextAsync(Path.Combine(root, "n", name), Encoding.UTF8));
            string copy = Path.Combine(local, "copy-" + name);
            await RunOk("get", baseUrl + "n/" + name, copy);
            Assert.Equal("content of " + name, await File.ReadAllTextAsync(copy, Encoding.UTF8));
        }
    }

    private static async Task RunOk(params string[] args)
    {
        using var ferry = new FerryProcess([.. args, "--json"]);
        int code = await ferry.WaitExitAsync(s_limit);
        Assert.True(code == 0, $"ferry {string.Join(' ', args)}: exit {code}: {ferry.StandardError}");
    }
}
