using System.Net;
using Ferry.Files;
using Ferry.Hosting;
using Ferry.Tests.Files;
using Ferry.Udp;

namespace Ferry.Tests.Support;

/// <summary>A real udp:// server listener on 127.0.0.1 (ephemeral port) over a temporary root.</summary>
internal sealed class UdpServerFixture : IAsyncDisposable
{
    private readonly TempDir _dir = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    /// <param name="idleTimeout">The connections' idle timeout (default: the protocol's 30 s).</param>
    /// <param name="staleUploadAfter">Silence after which any new upload may take a running one over (default here: 0.5 s, which keeps the tests of silent, killed uploaders quick).</param>
    public UdpServerFixture(bool allowOverwrite = false, bool requireToken = false, bool allowInsecure = false, Ferry.Protocol.Security.ServerKeyPair? identity = null,
        TimeSpan? idleTimeout = null, TimeSpan? staleUploadAfter = null)
    {
        Root = _dir.Combine("root");
        StateDir = _dir.Combine("state");
        Directory.CreateDirectory(Root);
        Tokens = new Ferry.Security.TokenStore(StateDir);
        var options = new ServerOptions
        {
            Root = Root, StateDir = StateDir, AllowOverwrite = allowOverwrite, Bind = IPAddress.Loopback, UdpPort = 0,
            Identity = identity ?? TestSecurity.ServerKey, AllowInsecure = allowInsecure,
            Access = new Ferry.Security.AccessPolicy(Tokens, requireToken),
        };
        Log = new StringWriter();
        var files = new FileEngine(new FileEngineOptions
        {
            Root = options.Root, StateDir = options.StateDir, AllowOverwrite = options.AllowOverwrite,
            StaleUploadAfter = staleUploadAfter ?? TimeSpan.FromMilliseconds(500),
        });
        Context = new ServerContext(options, TextWriter.Synchronized(Log), files);
        var config = idleTimeout is { } idle
            ? new Ferry.Protocol.Udp.ConnectionConfig
            {
                MaxDatagram = UdpServerListener.ServerMaxDatagram,
                IdleTimeout = (long)idle.TotalMicroseconds,
                Security = new Ferry.Protocol.Udp.UdpSecurity { Identity = options.Identity, AllowInsecure = options.AllowInsecure },
            }
            : null;
        Listener = new UdpServerListener(Context, IPAddress.Loopback, 0, config);
        _run = Listener.RunAsync(_stop.Token);
    }

    public string Root { get; }

    public string StateDir { get; }

    /// <summary>The server's token store (empty: the server is open).</summary>
    public Ferry.Security.TokenStore Tokens { get; }

    public string Scratch => _dir.Path;

    public StringWriter Log { get; }

    public ServerContext Context { get; }

    public UdpServerListener Listener { get; }

    public IPEndPoint EndPoint => (IPEndPoint)Listener.LocalEndPoint;

    public Uri Url(string path) => new($"udp://127.0.0.1:{EndPoint.Port}/{path}");

    public string Local(string name) => _dir.Combine(name);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
        await Listener.DisposeAsync();
        _dir.Dispose();
    }
}
