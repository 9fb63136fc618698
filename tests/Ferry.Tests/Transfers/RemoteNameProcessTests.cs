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
    public async Task Udp_a_remote_directory_is_refused_with_what_to_give_instead()
    {
        await using var server = new UdpServerFixture();
        await DirectoryIsRefused($"udp://127.0.0.1:{server.EndPoint.Port}/", server.Root, server.Local("local"));
    }

    [Fact]
    public async Task Tcp_a_remote_directory_is_refused_with_what_to_give_instead()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        await DirectoryIsRefused($"tcp://127.0.0.1:{server.Port}/", env.Root, env.Local);
    }

    [Theory]
    [InlineData("send")]
    [InlineData("get")]
    public async Task A_url_ending_in_a_slash_is_a_usage_error_before_connecting(string verb)
    {
        // Nothing listens on port 1: the answer comes from the URL alone.
        string local = Path.Combine(Path.GetTempPath(), "ferry-slash-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(local, "x");
        try
        {
            string url = "udp://127.0.0.1:1/dir/";
            using var ferry = new FerryProcess(verb == "send" ? ["send", local, url] : ["get", url, local + ".copy"]);
            Assert.Equal(2, await ferry.WaitExitAsync(s_limit));
            Assert.Contains("udp://127.0.0.1:1/dir/ names a directory; give the file name: udp://127.0.0.1:1/dir/NAME", ferry.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(local);
        }
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

    private static async Task DirectoryIsRefused(string baseUrl, string root, string local)
    {
        Directory.CreateDirectory(Path.Combine(root, "d"));
        Directory.CreateDirectory(local);
        string src = Path.Combine(local, "src.bin");
        await File.WriteAllTextAsync(src, "x");

        using (var send = new FerryProcess("send", src, baseUrl + "d"))
        {
            Assert.Equal(3, await send.WaitExitAsync(s_limit));
            Assert.Contains("'d' is a directory on the server; to upload into it, give the file name: 'd/NAME'", send.StandardError, StringComparison.Ordinal);
        }

        using (var get = new FerryProcess("get", baseUrl + "d", Path.Combine(local, "copy")))
        {
            Assert.Equal(3, await get.WaitExitAsync(s_limit));
            Assert.Contains("'d' is a directory; give the name of a file in it: 'd/NAME'", get.StandardError, StringComparison.Ordinal);
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
