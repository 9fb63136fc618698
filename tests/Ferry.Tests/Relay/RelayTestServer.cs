using System.Net;
using Ferry.Hosting;
using Ferry.Protocol.Relay;
using Ferry.Relay;

namespace Ferry.Tests.Relay;

/// <summary>A real <see cref="RelayListener"/> on 127.0.0.1 (ephemeral port unless given) over a temporary state directory.</summary>
internal sealed class RelayTestServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    private RelayTestServer(RelayListener listener, string stateDir)
    {
        Listener = listener;
        StateDir = stateDir;
        _run = Task.Run(() => listener.RunAsync(_stop.Token));
    }

    public RelayListener Listener { get; }

    public string StateDir { get; }

    public int Port => ((IPEndPoint)Listener.LocalEndPoint).Port;

    public static RelayTestServer Start(string stateDir, int port = 0, RelayServerOptions? core = null, long? retainCount = null,
        bool allowInsecure = false, Ferry.Security.AccessPolicy? access = null)
    {
        var options = new ServerOptions
        {
            Identity = Ferry.Tests.Support.TestSecurity.ServerKey,
            AllowInsecure = allowInsecure,
            Access = access ?? Ferry.Security.AccessPolicy.Open,
            Root = Path.Combine(stateDir, "root"),
            StateDir = stateDir,
            Bind = IPAddress.Loopback,
            RelayPort = port,
            RelayRetainCount = retainCount,
        };
        var context = new ServerContext(options, TextWriter.Null);
        return new RelayTestServer(new RelayListener(context, port, store: null, coreOptions: core, time: null), stateDir);
    }

    public static string NewStateDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ferry-relay-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public Task<RelayChatClient> ConnectAsync(string user, bool read = true, bool write = true, TimeSpan? delay = null,
        RelaySinceKind since = RelaySinceKind.Live, long sinceValue = 0, int receiveCapacity = 4096)
        => RelayChatClient.ConnectAsync("127.0.0.1", Port, new RelayChatOptions
        {
            User = user,
            Read = read,
            Write = write,
            Delay = delay ?? TimeSpan.Zero,
            SinceKind = since,
            SinceValue = sinceValue,
            ReceiveCapacity = receiveCapacity,
        }, Timeout());

    public static CancellationToken Timeout(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
        }

        await Listener.DisposeAsync();
        _stop.Dispose();
    }
}
