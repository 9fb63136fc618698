using System.Text;
using Ferry.Files;
using Ferry.Tests.Files;
using Ferry.Tests.Support;
using Ferry.Tests.Tcp;

namespace Ferry.Tests.Cli;

/// <summary>
/// The real <c>ferry</c> with its data on the standard streams: <c>send -</c> (and a fifo as the source) uploads
/// what it reads, <c>get URL -</c> writes the verified file to standard output and nothing else there; and a
/// download destination that is not a regular file is refused before connecting, whatever the scheme.
/// </summary>
public sealed class StandardStreamsProcessTests
{
    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task Send_dash_uploads_standard_input(string scheme)
    {
        await using var server = await TestServer.StartAsync(scheme);
        var data = Random(3_000_000, seed: 11);

        using var tmp = new TempDir();

        var run = await FerryRun.RunAsync(["send", "-", server.Url("piped/in.bin"), "-q"], stdin: data, environment: new Dictionary<string, string?> { ["TMPDIR"] = tmp.Path });

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardError}");
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(server.Root, "piped", "in.bin")));
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path)); // the copy of the input is deleted
    }

    [Fact]
    public async Task Send_dash_of_empty_input_uploads_an_empty_file()
    {
        await using var server = await TestServer.StartAsync("udp");
        var run = await FerryRun.RunAsync(["send", "-", server.Url("empty.bin"), "-q"], stdin: []);
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardError}");
        Assert.Empty(File.ReadAllBytes(Path.Combine(server.Root, "empty.bin")));
    }

    [Fact]
    public async Task Send_from_a_fifo_uploads_what_was_written_into_it()
    {
        await using var server = await TestServer.StartAsync("tcp");
        using var dir = new TempDir();
        string fifo = dir.Combine("pipe");
        TestNative.MakeFifo(fifo);
        var data = Random(1_500_000, seed: 12);
        // The writer blocks in open() until ferry opens the fifo for reading, then writes everything and closes.
        var writer = Task.Run(() => File.WriteAllBytes(fifo, data));

        var run = await FerryRun.RunAsync(["send", fifo, server.Url("from-fifo.bin"), "-q"]);

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardError}");
        await writer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(server.Root, "from-fifo.bin")));
    }

    [Theory]
    [InlineData("udp", false)]
    [InlineData("tcp", false)]
    [InlineData("udp", true)]
    [InlineData("tcp", true)]
    public async Task Get_dash_writes_only_the_verified_file_to_standard_output(string scheme, bool json)
    {
        await using var server = await TestServer.StartAsync(scheme);
        var data = Random(2_000_000, seed: 13);
        File.WriteAllBytes(Path.Combine(server.Root, "out.bin"), data);

        var run = await FerryRun.RunAsync(json ? ["get", server.Url("out.bin"), "-", "--json"] : ["get", server.Url("out.bin"), "-"]);

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardError}");
        Assert.Equal(data, run.StandardOutput);
        // Reports go to stderr: the summary line, or with --json every event, the last one "done".
        string last = run.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        Assert.Contains(json ? "\"event\":\"done\"" : "done:", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_dash_of_a_missing_file_writes_nothing_to_standard_output()
    {
        await using var server = await TestServer.StartAsync("udp");
        var run = await FerryRun.RunAsync(["get", server.Url("none.bin"), "-"]);
        Assert.Equal(3, run.ExitCode);
        Assert.Empty(run.StandardOutput);
        Assert.Contains("not found", run.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("tftp")]
    public async Task A_fifo_destination_is_refused_before_connecting(string scheme)
    {
        using var dir = new TempDir();
        string fifo = dir.Combine("pipe");
        TestNative.MakeFifo(fifo);

        // Nothing listens on port 1: a client that connected first would time out (exit 5) instead.
        var run = await FerryRun.RunAsync(["get", $"{scheme}://127.0.0.1:1/x", fifo, "--overwrite", "--timeout", "20"]);

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("is a fifo (named pipe), not a regular file", run.StandardError, StringComparison.Ordinal);
        Assert.True(NativeFile.TryStatPath(fifo, out var stat, out _) && stat.Type == NativeFile.S_IFIFO);
    }

    [Fact]
    public async Task Dev_null_is_refused_as_a_download_destination_and_left_alone()
    {
        var run = await FerryRun.RunAsync(["get", "udp://127.0.0.1:1/x", "/dev/null", "--overwrite", "--timeout", "20"]);
        Assert.Equal(6, run.ExitCode);
        Assert.Contains("'/dev/null' is a character device", run.StandardError, StringComparison.Ordinal);
        Assert.True(NativeFile.TryStatPath("/dev/null", out var stat, out _) && stat.Type == NativeFile.S_IFCHR);
    }

    [RootFact]
    public async Task A_device_node_destination_survives_a_download_with_overwrite()
    {
        await using var server = await TestServer.StartAsync("tcp");
        File.WriteAllText(Path.Combine(server.Root, "f.txt"), "data");
        using var dir = new TempDir();
        string dev = dir.Combine("null");
        TestNative.MakeNullDevice(dev);

        var run = await FerryRun.RunAsync(["get", server.Url("f.txt"), dev, "--overwrite"]);

        Assert.Equal(6, run.ExitCode);
        Assert.True(NativeFile.TryStatPath(dev, out var stat, out _) && stat.Type == NativeFile.S_IFCHR);
    }

    [Fact]
    public async Task Ctrl_c_while_the_input_is_still_open_stops_at_once_and_deletes_the_copy()
    {
        using var tmp = new TempDir();
        using var process = FerryRun.Start(["send", "-", "udp://127.0.0.1:1/x"], new Dictionary<string, string?> { ["TMPDIR"] = tmp.Path });
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.BaseStream.WriteAsync(new byte[1000]);
        await process.StandardInput.BaseStream.FlushAsync();

        // Once the first bytes are in the copy, ferry waits in a read of a pipe whose writer stays silent.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!Directory.EnumerateFiles(tmp.Path, "*", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length == 1000))
        {
            Assert.True(DateTime.UtcNow < deadline, "the input copy never appeared");
            await Task.Delay(20);
        }

        Assert.Equal(0, Kill(process.Id, 2)); // SIGINT, as Ctrl+C sends it
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(130, process.ExitCode);
        Assert.Contains("nothing was kept", await stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }

    [TmpfsFact]
    public async Task Input_that_does_not_fit_in_the_temporary_directory_stops_with_a_clear_error()
    {
        using var dir = new TempDir();
        Assert.Equal(0, TestNative.Run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", dir.Path));
        try
        {
            // What fits above the 16 MiB margin is copied whole...
            var small = Random(1 << 20, seed: 14);
            using (var copy = await InputSpool.CopyAsync(new MemoryStream(small), "standard input", dir.Path, CancellationToken.None))
            {
                Assert.Equal(small, File.ReadAllBytes(copy.Path));
            }

            Assert.Empty(Directory.GetFileSystemEntries(dir.Path));

            // ...what would eat into it stops with a clear error.
            using var input = new MemoryStream(new byte[48 << 20]);
            var ex = await Assert.ThrowsAsync<Ferry.Transfers.TransferException>(() => InputSpool.CopyAsync(input, "standard input", dir.Path, CancellationToken.None));
            Assert.Equal(Ferry.Transfers.ExitCode.LocalIo, ex.Code);
            Assert.Contains("set TMPDIR", ex.Message, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFileSystemEntries(dir.Path)); // the partial copy is gone
        }
        finally
        {
            TestNative.Run("umount", dir.Path);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static byte[] Random(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>An in-process udp:// or tcp:// server on 127.0.0.1 for the executable to talk to.</summary>
    private sealed class TestServer : IAsyncDisposable
    {
        private readonly IAsyncDisposable _owner;
        private readonly Func<string, string> _url;

        private TestServer(IAsyncDisposable owner, string root, Func<string, string> url)
        {
            _owner = owner;
            Root = root;
            _url = url;
        }

        public string Root { get; }

        public static async Task<TestServer> StartAsync(string scheme)
        {
            if (scheme == "udp")
            {
                var udp = new UdpServerFixture();
                return new TestServer(udp, udp.Root, p => udp.Url(p).ToString());
            }

            var env = new TcpTestEnv();
            var tcp = await env.StartServerAsync(allowInsecure: false);
            return new TestServer(env, env.Root, p => tcp.Url(p).ToString());
        }

        public string Url(string path) => _url(path);

        public ValueTask DisposeAsync() => _owner.DisposeAsync();
    }
}
