using Ferry.Security;
using Ferry.Tcp;
using Ferry.Tests.Support;
using Ferry.Tests.Tcp;
using Ferry.Transfers;
using Ferry.Udp;

namespace Ferry.Tests.Transfers;

/// <summary>
/// Uploads keep their source's modification time and permission bits, and MKDIR creates directories, over udp:// and
/// tcp://, with the real listeners and clients on 127.0.0.1.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UploadMetadataTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(60);
    private static readonly DateTime s_mtime = new(2001, 2, 3, 4, 5, 6, 789, DateTimeKind.Utc);
    private static readonly long s_mtimeMs = new DateTimeOffset(s_mtime).ToUnixTimeMilliseconds();

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task An_upload_keeps_the_source_modification_time_and_permission_bits(string scheme)
    {
        await using var server = await Server.StartAsync(scheme);
        string src = server.Local("src.bin");
        await File.WriteAllBytesAsync(src, new byte[3000]);
        File.SetUnixFileMode(src, (UnixFileMode)0x1E9); // 0751
        File.SetLastWriteTimeUtc(src, s_mtime);

        await server.Client.SendAsync(src, server.Url("d/f.bin"), server.Options(), new RecordingProgress(), default).WaitAsync(s_limit);

        string stored = Path.Combine(server.Root, "d", "f.bin");
        Assert.Equal((UnixFileMode)0x1E9, File.GetUnixFileMode(stored));
        Assert.Equal(s_mtime, File.GetLastWriteTimeUtc(stored));
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task Mkdir_creates_the_directory_and_its_parents_with_mode_and_mtime_and_again_only_sets_them(string scheme)
    {
        await using var server = await Server.StartAsync(scheme);

        await server.Client.MakeDirectoryAsync(server.Remote("a/b/c"), 0x1C5, s_mtimeMs, server.Options(), default).WaitAsync(s_limit); // 0705

        string made = Path.Combine(server.Root, "a", "b", "c");
        Assert.True(Directory.Exists(made));
        Assert.Equal((UnixFileMode)0x1C5, File.GetUnixFileMode(made));
        Assert.Equal(s_mtime, Directory.GetLastWriteTimeUtc(made));

        // An existing directory: only its mode and time change.
        await File.WriteAllTextAsync(Path.Combine(made, "keep"), "x");
        var later = s_mtime.AddDays(1);
        await server.Client.MakeDirectoryAsync(server.Remote("a/b/c"), 0x1ED, s_mtimeMs + 86_400_000, server.Options(), default).WaitAsync(s_limit);

        Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(made));
        Assert.Equal(later, Directory.GetLastWriteTimeUtc(made));
        Assert.True(File.Exists(Path.Combine(made, "keep")));
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task Mkdir_of_an_existing_file_is_refused_and_leaves_it(string scheme)
    {
        await using var server = await Server.StartAsync(scheme);
        string file = Path.Combine(server.Root, "f");
        await File.WriteAllTextAsync(file, "data");

        var e = await Assert.ThrowsAsync<TransferException>(() => server.Client.MakeDirectoryAsync(server.Remote("f"), 0x1ED, s_mtimeMs, server.Options(), default).WaitAsync(s_limit));

        Assert.Contains("not a directory", e.Message, StringComparison.Ordinal);
        Assert.Equal("data", await File.ReadAllTextAsync(file));
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task Mkdir_through_a_link_out_of_the_root_is_refused(string scheme)
    {
        await using var server = await Server.StartAsync(scheme);
        string outside = server.Local("outside");
        Directory.CreateDirectory(outside);
        File.CreateSymbolicLink(Path.Combine(server.Root, "out"), outside);

        var e = await Assert.ThrowsAsync<TransferException>(() => server.Client.MakeDirectoryAsync(server.Remote("out/x"), 0x1ED, s_mtimeMs, server.Options(), default).WaitAsync(s_limit));

        Assert.Contains("outside the server root", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(outside, "x")));
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task Mkdir_needs_a_token_that_may_write(string scheme)
    {
        await using var server = await Server.StartAsync(scheme);
        string reader = server.Tokens.Create("reader", read: true, write: false, null, DateTimeOffset.UtcNow, null);

        var e = await Assert.ThrowsAsync<TransferException>(() => server.Client.MakeDirectoryAsync(server.Remote("d"), 0x1ED, s_mtimeMs, server.Options(reader), default).WaitAsync(s_limit));

        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("may not write", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(server.Root, "d")));
    }

    /// <summary>One udp:// or tcp:// server and its client, over a temporary root with a token store.</summary>
    private sealed class Server : IAsyncDisposable
    {
        private readonly UdpServerFixture? _udp;
        private readonly TcpTestEnv? _tcpEnv;
        private readonly TcpTestServer? _tcp;

        private Server(UdpServerFixture udp)
        {
            _udp = udp;
            Root = udp.Root;
            Tokens = udp.Tokens;
            Client = new UdpTransferClient();
        }

        private Server(TcpTestEnv env, TcpTestServer tcp, TokenStore tokens)
        {
            _tcpEnv = env;
            _tcp = tcp;
            Root = env.Root;
            Tokens = tokens;
            Client = TcpTestEnv.Client();
        }

        public string Root { get; }

        public TokenStore Tokens { get; }

        public ITransferClient Client { get; }

        public static async Task<Server> StartAsync(string scheme)
        {
            if (scheme == "udp")
            {
                return new Server(new UdpServerFixture());
            }

            var env = new TcpTestEnv();
            var tokens = new TokenStore(env.State);
            return new Server(env, await env.StartServerAsync(access: new AccessPolicy(tokens, requireToken: false)), tokens);
        }

        public string Local(string name)
        {
            string dir = _udp?.Scratch ?? _tcpEnv!.Local;
            return Path.Combine(dir, name);
        }

        public Uri Url(string path) => _udp?.Url(path) ?? _tcp!.Url(path);

        public RemoteUrl Remote(string path) => TransferClients.ParseUrl(Url(path).OriginalString);

        public ClientOptions Options(string? token = null)
        {
            var options = _udp is { } udp ? new ClientOptions { KnownHosts = new KnownHosts(udp.Local("known_hosts")) } : TcpTestEnv.Options(1);
            options.Token = token;
            return options;
        }

        public async ValueTask DisposeAsync()
        {
            if (_udp is not null)
            {
                await _udp.DisposeAsync();
            }

            if (_tcpEnv is not null)
            {
                await _tcpEnv.DisposeAsync();
            }
        }
    }
}
