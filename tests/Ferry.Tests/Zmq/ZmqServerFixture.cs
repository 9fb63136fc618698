using System.Net;
using System.Threading.Channels;
using Ferry.Hosting;
using Ferry.Security;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Ferry.Zmq;

namespace Ferry.Tests.Zmq;

/// <summary>A real zmq:// listener on 127.0.0.1 (ephemeral port) over a fresh root, for end-to-end tests.</summary>
internal sealed class ZmqServerFixture : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ferry-zmq-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly CancellationTokenSource _cts = new();
    private readonly Channel<ZmqTransferEvent> _events = Channel.CreateUnbounded<ZmqTransferEvent>();
    private readonly Task _run;
    private readonly StringWriter _log = new();

    /// <param name="curve">Present <see cref="TestSecurity.ServerKey"/>, so zmq:// runs CURVE (otherwise plain, as with no key).</param>
    /// <param name="access">Token policy (default: open).</param>
    public ZmqServerFixture(TimeSpan? idleTimeout = null, TimeProvider? time = null, bool allowOverwrite = false, bool curve = false, AccessPolicy? access = null)
    {
        var options = new ServerOptions
        {
            Identity = curve ? TestSecurity.ServerKey : null,
            Access = access ?? AccessPolicy.Open,
            Root = Path.Combine(_dir, "root"),
            StateDir = Path.Combine(_dir, "state"),
            Bind = IPAddress.Loopback,
            AllowOverwrite = allowOverwrite,
            ZmqIdleTimeout = idleTimeout ?? TimeSpan.FromSeconds(60),
        };
        Directory.CreateDirectory(options.Root);
        Context = new ServerContext(options, TextWriter.Synchronized(_log));
        Listener = new ZmqListener(Context, 0, time);
        Listener.TransferEnded += e => _events.Writer.TryWrite(e);
        Endpoint = $"tcp://127.0.0.1:{((IPEndPoint)Listener.LocalEndPoint).Port}";
        _run = Listener.RunAsync(_cts.Token);
    }

    public ServerContext Context { get; }

    /// <summary>The server's CURVE key (Z85), null when plain.</summary>
    public string? CurveKey => Listener.CurvePublicKey;

    /// <summary>This fixture's own known_hosts (never the run's shared one).</summary>
    public KnownHosts KnownHosts => new(Path.Combine(_dir, "known_hosts"));

    /// <summary>Client options that reach this server: its CURVE key, or --insecure for a plain server.</summary>
    public ClientOptions ClientOptions(int? chunkSize = null, string? token = null)
    {
        var o = CurveKey is { } key
            ? new ClientOptions { ServerKey = key, KnownHosts = KnownHosts }
            : new ClientOptions { Insecure = true, KnownHosts = KnownHosts };
        o.Token = token;
        if (chunkSize is int c)
        {
            o.ChunkSize = c;
        }

        return o;
    }

    public ZmqListener Listener { get; }

    public string Endpoint { get; }

    public string Root => Context.Options.Root;

    public string Log => _log.ToString();

    public Uri Url(string path) => new($"zmq://127.0.0.1:{((IPEndPoint)Listener.LocalEndPoint).Port}/{path}");

    public string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>
    /// A stored file's bytes, read as cat would: without .NET's shared flock, which fails while the server's last
    /// reference to the temp file's exclusive lock is still being let go, just after the commit it reported.
    /// </summary>
    public byte[] ReadStored(string relative)
    {
        using var file = Ferry.Files.ReadableFile.OpenLocal(PathOf(relative));
        var data = new byte[file.Length];
        Assert.Equal(data.Length, file.ReadAt(0, data));
        return data;
    }

    /// <summary>Temp files (".name.ferry-part") anywhere under the root.</summary>
    public string[] TempFiles() => Directory.GetFiles(Root, "*.ferry-part", SearchOption.AllDirectories);

    /// <summary>Waits (bounded) for the next transfer end.</summary>
    public async Task<ZmqTransferEvent> NextEventAsync()
    {
        using var cts = new CancellationTokenSource(Wait);
        return await _events.Reader.ReadAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        try
        {
            await _run.WaitAsync(Wait);
        }
        catch (OperationCanceledException)
        {
        }

        await Listener.DisposeAsync();
        _cts.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
