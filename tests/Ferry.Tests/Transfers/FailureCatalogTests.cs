using System.Net;
using Ferry.Hosting;
using Ferry.Security;
using Ferry.Tcp;
using Ferry.Tests.Files;
using Ferry.Tests.Support;
using Ferry.Tftp;
using Ferry.Transfers;
using Ferry.Udp;
using Ferry.Zmq;
using Ferry.Zmq.Client;

namespace Ferry.Tests.Transfers;

/// <summary>The same failure exits with the same code, and reads the same, over every scheme.</summary>
public sealed class FailureCatalogTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    public static TheoryData<FailureKind> Kinds => new(Enum.GetValues<FailureKind>());

    /// <summary>Every scheme's wire form of an entry comes back as an entry with the same exit code.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void EverySchemeCarriesAnEntryToTheSameExitCode(FailureKind kind)
    {
        var expected = Failures.ToExitCode(kind);
        string words = Failures.Describe(kind);
        Assert.Equal(expected, Failures.ToExitCode(UdpErrors.FromWire(UdpErrors.ToWire(kind))));
        Assert.Equal(expected, Failures.ToExitCode(TcpErrors.FromWire(TcpErrors.ToWire(kind))));

        // zmq:// has ERROR texts for the file entries and the server's own refusals; the handshake is CURVE's.
        if (kind <= FailureKind.TooLarge || kind is FailureKind.Unauthorized or FailureKind.ServerShutdown or FailureKind.ServerBusy)
        {
            Assert.Equal(expected, Failures.ToExitCode(ZmqFileErrors.FromWire(ZmqFileErrors.ToText(kind, words), out string message)));
            Assert.Equal(words, kind is FailureKind.ServerShutdown or FailureKind.ServerBusy ? words : message);
        }

        // TFTP carries no digest (no Integrity) and no handshake.
        if ((kind <= FailureKind.TooLarge && kind != FailureKind.Integrity) || kind is FailureKind.Unauthorized or FailureKind.ServerShutdown or FailureKind.ServerBusy or FailureKind.ProtocolViolation)
        {
            Assert.Equal(expected, Failures.ToExitCode(TftpErrorMapping.FromWire(TftpErrorMapping.ToWire(kind), words)));
        }
    }

    [Theory]
    [InlineData(FailureKind.NotFound, ExitCode.Refused)]
    [InlineData(FailureKind.AlreadyExists, ExitCode.Refused)]
    [InlineData(FailureKind.Io, ExitCode.Refused)]
    [InlineData(FailureKind.Denied, ExitCode.Refused)]
    [InlineData(FailureKind.Unauthorized, ExitCode.Refused)]
    [InlineData(FailureKind.Integrity, ExitCode.Integrity)]
    [InlineData(FailureKind.ServerShutdown, ExitCode.Timeout)]
    [InlineData(FailureKind.IdleTimeout, ExitCode.Timeout)]
    [InlineData(FailureKind.ProtocolViolation, ExitCode.Failure)]
    public void CatalogExitCodes(FailureKind kind, ExitCode expected) => Assert.Equal(expected, Failures.ToExitCode(kind));

    [Fact]
    public void AServerShutdownSaysToRunTheSameCommandAgain()
    {
        var e = Failures.FromServer(FailureKind.ServerShutdown, "server is shutting down; run the same command again to resume");
        Assert.Equal(ExitCode.Timeout, e.Code);
        Assert.Equal($"server is shutting down (ServerShutdown); {Failures.ResumeHint}", e.Message);
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("tftp")]
    public async Task NotFound(string scheme)
    {
        await using var server = new Server();
        var e = await Assert.ThrowsAsync<TransferException>(() => server.GetAsync(scheme, "missing.bin", server.Local("out.bin")));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("'missing.bin' not found", e.Message);
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("zmq")]
    [InlineData("tftp")]
    public async Task RemoteExists(string scheme)
    {
        await using var server = new Server();
        File.WriteAllText(Path.Combine(server.Root, "there.bin"), "old");
        var e = await Assert.ThrowsAsync<TransferException>(() => server.SendAsync(scheme, server.Source(10), "there.bin"));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("'there.bin' already exists on the server", e.Message);
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("tftp")]
    public async Task LocalExists(string scheme)
    {
        await using var server = new Server();
        File.WriteAllText(Path.Combine(server.Root, "f.bin"), "new");
        string local = server.Local("f.bin");
        File.WriteAllText(local, "mine");
        var e = await Assert.ThrowsAsync<TransferException>(() => server.GetAsync(scheme, "f.bin", local));
        Assert.Equal(ExitCode.LocalIo, e.Code);
        Assert.Equal(Failures.LocalExistsMessage(local), e.Message);
    }

    /// <summary>Writing without the right: a token-only server (udp, tcp, zmq), a read-only TFTP server.</summary>
    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("zmq")]
    [InlineData("tftp")]
    public async Task Denied(string scheme)
    {
        await using var server = new Server(requireToken: true, tftpWrite: false);
        var e = await Assert.ThrowsAsync<TransferException>(() => server.SendAsync(scheme, server.Source(10), "up.bin"));
        Assert.Equal(ExitCode.Refused, e.Code);
    }

    /// <summary>
    /// The server stops while a download runs: the client's progress callback holds the transfer until the server
    /// has stopped, so the failure always comes mid-transfer. Transient: exit 5 and "run the same command again".
    /// </summary>
    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("tftp")]
    public async Task ServerShutdownMidDownload(string scheme)
    {
        await using var server = new Server();
        Sparse(Path.Combine(server.Root, "big.bin"), Big);
        var e = await Assert.ThrowsAsync<TransferException>(() => server.GetAsync(scheme, "big.bin", server.Local("big.bin"), stopServerMidway: true));
        Assert.Equal(ExitCode.Timeout, e.Code);
        Assert.Contains("run the same command again", e.Message);
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("zmq")]
    [InlineData("tftp")]
    public async Task ServerShutdownMidUpload(string scheme)
    {
        await using var server = new Server();
        var e = await Assert.ThrowsAsync<TransferException>(() => server.SendAsync(scheme, server.Source(Big), "big.bin", stopServerMidway: true));
        Assert.Equal(ExitCode.Timeout, e.Code);
        Assert.Contains("run the same command again", e.Message);
        if (scheme == "zmq")
        {
            // Seen when the connection closes, not after --timeout (30 s here) without a reply.
            Assert.Contains("closed the connection mid-transfer", e.Message);
        }
    }

    /// <summary>Large enough that no scheme finishes before the server is stopped, even on a fast loopback.</summary>
    private const long Big = 256L << 20;

    /// <summary>A file of <paramref name="size"/> zero bytes that takes no disk space.</summary>
    private static void Sparse(string path, long size)
    {
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write);
        f.SetLength(size);
    }

    /// <summary>Every listener over one root and one context, on ephemeral ports of 127.0.0.1; clients go in cleartext.</summary>
    private sealed class Server : IAsyncDisposable
    {
        private readonly TempDir _dir = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly List<IProtocolListener> _listeners = new();
        private readonly Task _run;
        private readonly Dictionary<string, int> _ports = new();

        public Server(bool requireToken = false, bool tftpWrite = true)
        {
            Root = _dir.Combine("root");
            Directory.CreateDirectory(Root);
            string state = _dir.Combine("state");
            var options = new ServerOptions
            {
                Root = Root, StateDir = state, Bind = IPAddress.Loopback, Identity = TestSecurity.ServerKey, AllowInsecure = true,
                TftpAllowWrite = tftpWrite, Access = new AccessPolicy(new TokenStore(state), requireToken),
            };
            var context = new ServerContext(options, TextWriter.Synchronized(new StringWriter()), ServerContext.CreateFileEngine(options));
            Add("udp", new UdpServerListener(context, IPAddress.Loopback, 0));
            Add("tcp", new TcpTransferListener(context, 0));
            Add("zmq", new ZmqListener(context, 0));
            Add("tftp", new TftpListener(context, 0));
            _run = Task.WhenAll(_listeners.Select(l => Task.Run(() => l.RunAsync(_stop.Token))));
        }

        public string Root { get; }

        public string Local(string name) => _dir.Combine(name);

        public string Source(long size)
        {
            string path = _dir.Combine($"src-{size}.bin");
            Sparse(path, size);
            return path;
        }

        public Task<TransferResult> GetAsync(string scheme, string path, string local, bool stopServerMidway = false) =>
            Client(scheme).GetAsync(Url(scheme, path), local, Options(scheme), Progress(scheme, stopServerMidway), CancellationToken.None).WaitAsync(s_bound);

        public Task<TransferResult> SendAsync(string scheme, string local, string path, bool stopServerMidway = false) =>
            Client(scheme).SendAsync(local, Url(scheme, path), Options(scheme), Progress(scheme, stopServerMidway), CancellationToken.None).WaitAsync(s_bound);

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            foreach (var l in _listeners)
            {
                await l.DisposeAsync();
            }

            _dir.Dispose();
        }

        private async Task StopAsync()
        {
            _stop.Cancel();
            try
            {
                await _run.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (OperationCanceledException)
            {
            }

            // As ferry serve's host does when its run ends: the listeners close their sockets.
            foreach (var l in _listeners)
            {
                await l.DisposeAsync();
            }

            _listeners.Clear();
        }

        private void Add(string scheme, IProtocolListener listener)
        {
            _listeners.Add(listener);
            _ports[scheme] = ((IPEndPoint)listener.LocalEndPoint).Port;
        }

        private Uri Url(string scheme, string path) => new($"{scheme}://127.0.0.1:{_ports[scheme]}/{path}");

        private static ITransferClient Client(string scheme) => scheme switch
        {
            "udp" => new UdpTransferClient(),
            "tcp" => new TcpTransferClient(),
            "zmq" => new ZmqTransferClient(),
            _ => new TftpClient(),
        };

        private ClientOptions Options(string scheme) => new()
        {
            Insecure = scheme != "tftp",
            KnownHosts = new KnownHosts(_dir.Combine("known_hosts")),

            // TFTP retransmits: keep its wait short. A stopped zmq:// server closes its connections, which the client sees
            // at once: the long wait proves it does not wait for a reply that cannot come.
            Timeout = scheme is "zmq" ? TimeSpan.FromSeconds(30) : scheme is "tftp" ? TimeSpan.FromSeconds(0.5) : TimeSpan.FromSeconds(5),
        };

        /// <summary>With <paramref name="stopServerMidway"/>: at the first byte moved, stops the server before the client goes on.</summary>
        private IProgress<TransferProgress> Progress(string scheme, bool stopServerMidway)
        {
            if (!stopServerMidway)
            {
                return new RecordingProgress();
            }

            if (scheme == "tftp")
            {
                // The TFTP client reports progress at the end only: watch the temporary file (either side's) grow instead.
                _ = Task.Run(async () =>
                {
                    var deadline = DateTime.UtcNow + s_bound;
                    while (DateTime.UtcNow < deadline && !Directory.EnumerateFiles(_dir.Path, ".*.ferry-*", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length > 0))
                    {
                        await Task.Delay(5);
                    }

                    await StopAsync();
                });
                return new RecordingProgress();
            }

            int stopped = 0;
            return new Inline(p =>
            {
                // zmq:// reports after its HELLO is answered and then every 100 ms, by when loopback may have moved it all:
                // its transfer is open on the server from that first answer on.
                bool midway = scheme == "zmq" ? p.ConnectingTo is null : p.BytesDone > 0;
                if (midway && Interlocked.Exchange(ref stopped, 1) == 0)
                {
                    StopAsync().GetAwaiter().GetResult();
                }
            });
        }

        private sealed class Inline(Action<TransferProgress> report) : IProgress<TransferProgress>
        {
            public void Report(TransferProgress value) => report(value);
        }
    }
}
