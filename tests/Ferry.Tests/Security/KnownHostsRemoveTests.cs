using Ferry.Cli.Commands;
using Ferry.Security;
using Ferry.Tests.Files;
using Ferry.Tests.Support;

namespace Ferry.Tests.Security;

/// <summary>
/// <c>ferry known-hosts remove HOST[:PORT]</c> removes every pin of a server (one key change leaves a line per port it
/// was reached on: udp, tcp, the relay, and zmq's CURVE key), and <c>list</c> shows them.
/// </summary>
public sealed class KnownHostsRemoveTests
{
    private const string Fp1 = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    private const string Fp2 = "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

    private static readonly string s_file = string.Join('\n',
        "# my servers",
        $"files.example:7700 {Fp1}",
        $"files.example:7701 {Fp1}",
        "zmq:files.example:7702 ZmqKeyZmqKeyZmqKeyZmqKeyZmqKeyZmqKey1234",
        $"files.example:7703 {Fp1}",
        $"other.example:7700 {Fp2}",
        $"[::1]:7700 {Fp2}",
        $"files.example.org:7700 {Fp2}",
        string.Empty);

    [Fact]
    public void Remove_host_takes_every_port_and_scheme_of_that_host_only()
    {
        using var dir = new TempDir();
        var hosts = Write(dir);

        var removed = hosts.Remove("FILES.example", port: null);

        Assert.Equal(["files.example:7700", "files.example:7701", "zmq:files.example:7702", "files.example:7703"], removed);
        Assert.Equal(
            ["# my servers", $"other.example:7700 {Fp2}", $"[::1]:7700 {Fp2}", $"files.example.org:7700 {Fp2}"],
            File.ReadAllLines(hosts.Path));
        Assert.Empty(hosts.Remove("files.example", port: null));
    }

    [Fact]
    public void Remove_host_and_port_takes_that_port_whatever_the_scheme()
    {
        using var dir = new TempDir();
        var hosts = Write(dir);

        Assert.Equal(["zmq:files.example:7702"], hosts.Remove("files.example", 7702));
        Assert.Equal(["[::1]:7700"], hosts.Remove("::1", 7700));
        Assert.Equal(Fp1, hosts.Lookup("files.example:7700"));
        Assert.Equal(5, hosts.List().Count);
    }

    [Theory]
    [InlineData("host:7700", "host", 7700)]
    [InlineData("host", "host", null)]
    [InlineData("[::1]:7700", "::1", 7700)]
    [InlineData("[::1]", "::1", null)]
    [InlineData("::1", "::1", null)]
    [InlineData("zmq:host:7702", "host", 7702)]
    public void Server_names_parse(string text, string host, int? port)
    {
        Assert.True(KnownHostsCommand.TryParse(text, out string h, out int? p));
        Assert.Equal(host, h);
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("host:http")]
    [InlineData("host:70000")]
    [InlineData("[::1")]
    [InlineData(":7700")]
    public void Bad_server_names_are_refused(string text) => Assert.False(KnownHostsCommand.TryParse(text, out _, out _));

    [Fact]
    public async Task The_command_removes_and_lists_and_says_how_many_and_where()
    {
        using var dir = new TempDir();
        var hosts = Write(dir);
        var env = new Dictionary<string, string?> { ["FERRY_KNOWN_HOSTS"] = hosts.Path };

        var remove = await FerryRun.RunAsync(["known-hosts", "remove", "files.example:7701"], environment: env);
        Assert.Equal(0, remove.ExitCode);
        Assert.Equal($"removed 1 pinned key (files.example:7701) from {hosts.Path}\n", System.Text.Encoding.UTF8.GetString(remove.StandardOutput));

        var all = await FerryRun.RunAsync(["known-hosts", "remove", "files.example"], environment: env);
        Assert.Contains("removed 3 pinned keys (files.example:7700, zmq:files.example:7702, files.example:7703)", System.Text.Encoding.UTF8.GetString(all.StandardOutput), StringComparison.Ordinal);

        var list = await FerryRun.RunAsync(["known-hosts", "list"], environment: env);
        Assert.Equal(0, list.ExitCode);
        Assert.Equal($"other.example:7700 {Fp2}\n[::1]:7700 {Fp2}\nfiles.example.org:7700 {Fp2}\n", System.Text.Encoding.UTF8.GetString(list.StandardOutput));
        Assert.Contains($"3 pinned keys in {hosts.Path}", list.StandardError, StringComparison.Ordinal);

        var bad = await FerryRun.RunAsync(["known-hosts", "remove", "host:port"], environment: env);
        Assert.Equal(2, bad.ExitCode);
    }

    private static KnownHosts Write(TempDir dir)
    {
        string path = dir.Combine("known_hosts");
        File.WriteAllText(path, s_file);
        return new KnownHosts(path);
    }
}
