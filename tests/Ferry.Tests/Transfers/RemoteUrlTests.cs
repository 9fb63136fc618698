using Ferry.Transfers;

namespace Ferry.Tests.Transfers;

/// <summary>
/// How a transfer URL is read: the path after <c>scheme://host[:port]/</c> is taken literally (no fragment, no query,
/// no percent-decoding), hosts and ports parse as before, and a URL naming no file or a directory is a usage error.
/// </summary>
public sealed class RemoteUrlTests
{
    [Theory]
    [InlineData("udp://h/report#3.pdf", "report#3.pdf")]
    [InlineData("tcp://h/what?.pdf", "what?.pdf")]
    [InlineData("udp://h/dir/a#1?x=y#z", "dir/a#1?x=y#z")]
    [InlineData("udp://h/100%done.txt", "100%done.txt")]
    [InlineData("udp://h/a%20b", "a%20b")]
    [InlineData("udp://h/a b.txt", "a b.txt")]
    [InlineData("tftp://h/résumé ✓ 日本.txt", "résumé ✓ 日本.txt")]
    [InlineData("zmq://h//lead/x", "lead/x")]
    [InlineData("udp://h/a/../b", "a/../b")]
    [InlineData("udp://h/back\\slash", "back\\slash")]
    public void The_path_is_everything_after_the_host_taken_literally(string url, string path)
    {
        var remote = TransferClients.ParseUrl(url);
        Assert.Equal(path, remote.Path);
        Assert.Equal(path, TransferClients.RemotePath(remote));
        Assert.Equal(url, remote.ToString());
        Assert.Equal(url, $"{remote}");
        Assert.Equal("h", remote.Host);
    }

    [Theory]
    [InlineData("udp://127.0.0.1:7709/a#1", "127.0.0.1", 7709, "a#1")]
    [InlineData("udp://[::1]:7709/a?b", "[::1]", 7709, "a?b")]
    [InlineData("tcp://[::1]/x", "[::1]", -1, "x")]
    [InlineData("UDP://Example.ORG/x", "example.org", -1, "x")]
    public void Hosts_ipv6_and_ports_still_parse(string url, string host, int port, string path)
    {
        var remote = TransferClients.ParseUrl(url);
        Assert.Equal(host, remote.Host);
        Assert.Equal(port, remote.IsDefaultPort ? -1 : remote.Port);
        Assert.Equal(path, remote.Path);
    }

    [Fact]
    public void A_uri_built_elsewhere_is_read_by_the_same_rule()
    {
        Assert.Equal("a#1", TransferClients.RemotePath(new Uri("udp://h/a#1")));
        Assert.Equal("100%25.txt", TransferClients.RemotePath(new Uri("udp://h/100%25.txt")));
    }

    [Theory]
    [InlineData("h/x")]
    [InlineData("udp:/h/x")]
    [InlineData("udp://")]
    [InlineData("udp:///x")]
    [InlineData("udp://h:port/x")]
    [InlineData("udp://h:99999/x")]
    [InlineData("udp://user@h/x")]
    [InlineData("udp://h?q/x")]
    [InlineData("udp://h#f/x")]
    [InlineData("1dp://h/x")]
    [InlineData("udp://[::1/x")]
    public void Anything_but_scheme_host_port_before_the_path_is_not_a_url(string url)
    {
        var e = Assert.Throws<TransferException>(() => TransferClients.ParseUrl(url));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Contains("is not a URL", e.Message);
    }

    [Theory]
    [InlineData("udp://h")]
    [InlineData("udp://h/")]
    [InlineData("udp://h:7700//")]
    public void A_url_without_a_path_names_no_file(string url)
    {
        var e = Assert.Throws<TransferException>(() => TransferClients.RemotePath(TransferClients.ParseUrl(url)));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Contains("names no file", e.Message);
    }

    [Fact]
    public void A_path_ending_in_a_slash_names_a_directory_and_the_message_says_what_to_give()
    {
        var e = Assert.Throws<TransferException>(() => TransferClients.RemotePath(TransferClients.ParseUrl("udp://h:7700/dir/")));
        Assert.Equal(ExitCode.Usage, e.Code);
        Assert.Equal("udp://h:7700/dir/ names a directory; give the file name: udp://h:7700/dir/NAME", e.Message);
    }
}
