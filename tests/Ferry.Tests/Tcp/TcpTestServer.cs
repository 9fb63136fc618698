using System.Net;
using Ferry.Hosting;
using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Tcp;

namespace Ferry.Tests.Tcp;

/// <summary>One real listener on 127.0.0.1, running until stopped.</summary>
internal sealed class TcpTestServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private TcpTestServer(TcpTransferListener listener, StringWriter log)
    {
        Listener = listener;
        LogWriter = log;
        Port = ((IPEndPoint)listener.LocalEndPoint).Port;
        Run = Task.Run(() => listener.RunAsync(_stop.Token));
    }

    public TcpTransferListener Listener { get; }

    public int Port { get; }

    public Task Run { get; }

    public StringWriter LogWriter { get; }

    public string Log
    {
        get
        {
            lock (LogWriter)
            {
                return LogWriter.ToString();
            }
        }
    }

    /// <param name="identity">The server key (null: no key, cleartext only).</param>
    /// <param name="allowInsecure">Also serve cleartext clients (the raw-socket tests speak cleartext).</param>
    public static Task<TcpTestServer> StartAsync(
        string root, string state, TcpListenerSettings settings, int maxStreams, ServerKeyPair? identity, bool allowInsecure, AccessPolicy? access,
        TimeSpan? staleUploadAfter = null, TimeProvider? time = null)
    {
        var options = new ServerOptions
        {
            Root = root,
            StateDir = state,
            Bind = IPAddress.Loopback,
            UdpPort = null,
            TcpPort = 0,
            ZmqPort = null,
            RelayPort = null,
            MaxStreams = maxStreams,
            Identity = identity,
            AllowInsecure = allowInsecure,
            Access = access ?? AccessPolicy.Open,
            Time = time ?? TimeProvider.System,
        };
        var log = new StringWriter();
        var files = new Ferry.Files.FileEngine(new Ferry.Files.FileEngineOptions
        {
            Root = root, StateDir = state, StaleUploadAfter = staleUploadAfter ?? Ferry.Files.UploadRegistry.DefaultStaleAfter,
        });
        var context = new ServerContext(options, log, files);
        return Task.FromResult(new TcpTestServer(new TcpTransferListener(context, 0, settings), log));
    }

    public Uri Url(string path) => new($"tcp://127.0.0.1:{Port}/{path}");

    /// <summary>Cancels RunAsync (as Ctrl+C / SIGTERM does) and returns how long it took to return.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await _stop.CancelAsync();
        await Run.WaitAsync(TcpTestEnv.Bound);
        return clock.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        await Listener.DisposeAsync();
        _stop.Dispose();
    }
}
