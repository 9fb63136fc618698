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
    public UdpServerFixture(bool allowOverwrite = false, bool requireToken = false, bool allowInsecure = false, Ferry.Protocol.Security.ServerKeyPair? identity = null,
        TimeSpan? idleTimeout = null)
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
        Context = new ServerContext(options, TextWriter.Synchronized(Log), ServerContext.CreateFileEngine(options));
        // A short takeover period keeps the tests of silent (killed) uploaders quick.
        var config = idleTimeout is { } idle
            ? new Ferry.Protocol.Udp.ConnectionConfig
            {
                MaxDatagram = UdpServerListener.ServerMaxDatagram,
                IdleTimeout = (long)idle.TotalMicroseconds,
                Security = new Ferry.Protocol.Udp.UdpSecurity { Identity = options.Identity, AllowInsecure = options.AllowInsecure },
            }
            : null;
        Listener = new UdpServerListener(Context, IPAddress.Loopback, 0, config) { StaleUploadMicros = 500_000 };
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
