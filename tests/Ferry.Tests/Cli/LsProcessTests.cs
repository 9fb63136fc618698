using System.Text;
using System.Text.Json;
using Ferry.Tests.Support;
using Ferry.Tests.Tcp;

namespace Ferry.Tests.Cli;

/// <summary>
/// <c>ferry ls</c>, the real executable, against real udp:// and tcp:// servers on 127.0.0.1: names, -l, -R, --json,
/// names with spaces, '#' and unicode, a missing path (exit 3), a token limited to a prefix, schemes that cannot list.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LsProcessTests
{
    private const string Unicode = "ünï cødé #1.bin";

    private static void Populate(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "pub", "with space", "deep"));
        Directory.CreateDirectory(Path.Combine(root, "private"));
        File.WriteAllBytes(Path.Combine(root, "pub", Unicode), new byte[1234]);
        File.WriteAllText(Path.Combine(root, "pub", "with space", "deep", "f"), "x");
        File.WriteAllText(Path.Combine(root, "private", "secret"), "s");
        File.SetUnixFileMode(Path.Combine(root, "pub", Unicode), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetLastWriteTimeUtc(Path.Combine(root, "pub", Unicode), new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        File.CreateSymbolicLink(Path.Combine(root, "pub", "etc-link"), "/etc");
    }

    private static async Task<FerryRun.Result> Ls(params string[] args)
    {
        var result = await FerryRun.RunAsync(["ls", .. args], limit: TimeSpan.FromSeconds(60));
        return result;
    }

    private static string[] Lines(FerryRun.Result r) =>
        Encoding.UTF8.GetString(r.StandardOutput).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static async Task Exercise(Func<string, string> url, string serverLog)
    {
        var plain = await Ls(url("pub"));
        Assert.True(plain.ExitCode == 0, plain.StandardError + serverLog);
        Assert.Equal(["etc-link", "with space/", Unicode], Lines(plain));

        var root = await Ls(url(string.Empty));
        Assert.Equal(["private/", "pub/"], Lines(root));

        var recursive = await Ls("-R", url("pub/"));
        Assert.Equal(["etc-link", "with space/", "with space/deep/", "with space/deep/f", Unicode], Lines(recursive));

        var longFormat = await Ls("-l", url("pub"));
        Assert.Equal(0, longFormat.ExitCode);
        string[] lines = Lines(longFormat);
        Assert.StartsWith("lrwxrwxrwx", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("drwx", lines[1], StringComparison.Ordinal);
        Assert.Equal($"-rw-r--r--  1234  2024-01-02T03:04:05Z  {Unicode}", lines[2]);

        var json = await Ls("--json", "-R", url("pub"));
        Assert.Equal(0, json.ExitCode);
        var events = Lines(json).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.All(events[..^1], e => Assert.Equal("entry", e.GetProperty("event").GetString()));
        var file = events[..^1].Single(e => e.GetProperty("path").GetString() == Unicode);
        Assert.Equal("file", file.GetProperty("type").GetString());
        Assert.Equal(1234, file.GetProperty("size").GetInt64());
        Assert.Equal("0644", file.GetProperty("mode").GetString());
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeMilliseconds(), file.GetProperty("mtime_ms").GetInt64());
        Assert.Equal("symlink", events[..^1].Single(e => e.GetProperty("path").GetString() == "etc-link").GetProperty("type").GetString());
        Assert.Equal("done", events[^1].GetProperty("event").GetString());
        Assert.Equal(5, events[^1].GetProperty("entries").GetInt32());

        var single = await Ls(url("pub/" + Unicode));
        Assert.Equal([Unicode], Lines(single));

        var missing = await Ls(url("pub/missing"));
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains("not found", missing.StandardError, StringComparison.Ordinal);

        var escape = await Ls(url("pub/etc-link"));
        Assert.Equal(3, escape.ExitCode);
        Assert.Contains("outside the server root", escape.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("passwd", Encoding.UTF8.GetString(escape.StandardOutput), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Udp_lists_names_long_recursive_and_json()
    {
        await using var server = new UdpServerFixture();
        Populate(server.Root);
        await Exercise(path => $"udp://127.0.0.1:{server.EndPoint.Port}/{path}", server.Log.ToString());
    }

    [Fact]
    public async Task Tcp_lists_names_long_recursive_and_json()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        Populate(env.Root);
        await Exercise(path => $"tcp://127.0.0.1:{server.Port}/{path}", server.Log);
    }

    [Fact]
    public async Task A_token_limited_to_a_prefix_lists_only_inside_it()
    {
        await using var server = new UdpServerFixture(requireToken: true);
        Populate(server.Root);
        string token = server.Tokens.Create("pub-reader", read: true, write: false, "pub", DateTimeOffset.UtcNow, null);
        string url = $"udp://127.0.0.1:{server.EndPoint.Port}/";

        var inside = await Ls("--token", token, url + "pub");
        Assert.Equal(0, inside.ExitCode);

        var outside = await Ls("--token", token, url + "private");
        Assert.Equal(3, outside.ExitCode);
        Assert.Contains("limited to 'pub/'", outside.StandardError, StringComparison.Ordinal);

        var root = await Ls("--token", token, url);
        Assert.Equal(3, root.ExitCode);

        var anonymous = await Ls(url + "pub");
        Assert.Equal(3, anonymous.ExitCode);
    }

    [Theory]
    [InlineData("zmq://127.0.0.1:1/dir", "upload-only")]
    [InlineData("tftp://127.0.0.1:1/dir", "TFTP has no listing")]
    public async Task Schemes_that_cannot_list_are_a_usage_error(string url, string why)
    {
        var r = await Ls(url);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(why, r.StandardError, StringComparison.Ordinal);
    }
}
