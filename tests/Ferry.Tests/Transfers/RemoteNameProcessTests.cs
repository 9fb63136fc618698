using System.Text;
using Ferry.Tests.Support;
using Ferry.Tests.Tcp;

namespace Ferry.Tests.Transfers;

/// <summary>
/// The real <c>ferry send</c> to udp://, tcp:// and tftp:// servers: names with '#', '?', '%', spaces and Unicode are stored
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

    [Fact]
    public async Task Tftp_stores_and_serves_exactly_the_names_given()
    {
        await using var server = new Ferry.Tests.Tftp.TftpServerFixture(allowWrite: true);
        await SendAllAndGetBack($"tftp://127.0.0.1:{server.Port}/", server.Root, Path.GetDirectoryName(server.Local("x"))!);
    }

    [Fact]
    public async Task Udp_a_file_sent_to_a_remote_directory_goes_inside_and_the_directory_is_fetched_as_a_tree()
    {
        await using var server = new UdpServerFixture();
        await DirectoryTakesTheFile($"udp://127.0.0.1:{server.EndPoint.Port}/", server.Root, server.Local("local"));
    }

    [Fact]
    public async Task Tcp_a_file_sent_to_a_remote_directory_goes_inside_and_the_directory_is_fetched_as_a_tree()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        await DirectoryTakesTheFile($"tcp://127.0.0.1:{server.Port}/", env.Root, env.Local);
    }

    [Fact]
    public async Task Udp_a_path_too_long_for_one_request_is_a_usage_error_of_its_own_not_the_servers()
    {
        // Nothing listens on port 1: the client must see that the REQUEST cannot fit before sending anything.
        string local = Path.Combine(Path.GetTempPath(), "ferry-long-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(local, "x");
        try
        {
            using var ferry = new FerryProcess("send", local, "udp://127.0.0.1:1/" + new string('n', 1100));
            Assert.Equal(2, await ferry.WaitExitAsync(s_limit));
            Assert.Contains("path too long for udp://", ferry.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("server:", ferry.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(local);
        }
    }

    private static async Task DirectoryTakesTheFile(string baseUrl, string root, string local)
    {
        Directory.CreateDirectory(Path.Combine(root, "d"));
        Directory.CreateDirectory(local);
        string src = Path.Combine(local, "src.bin");
        await File.WriteAllTextAsync(src, "x");

        // As cp does: a file sent to an existing directory goes inside it.
        using (var send = new FerryProcess("send", src, baseUrl + "d"))
        {
            Assert.True(await send.WaitExitAsync(s_limit) == 0, send.StandardError);
            Assert.Equal("x", await File.ReadAllTextAsync(Path.Combine(root, "d", "src.bin")));
        }

        // A remote directory named without a trailing '/' is fetched as a tree, under the name given.
        using (var get = new FerryProcess("get", baseUrl + "d", Path.Combine(local, "copy")))
        {
            Assert.True(await get.WaitExitAsync(s_limit) == 0, get.StandardError);
            Assert.Equal("x", await File.ReadAllTextAsync(Path.Combine(local, "copy", "src.bin")));
        }
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
