using System.Net;
using System.Security.Cryptography;
using Ferry.Hosting;
using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Tcp;
using Ferry.Tests.Support;
using Ferry.Transfers;

namespace Ferry.Tests.Tcp;

/// <summary>
/// A temp directory with a server root, a state dir and a client dir, plus helpers to run real
/// <see cref="TcpTransferListener"/>s on 127.0.0.1 ephemeral ports and real <see cref="TcpTransferClient"/>s.
/// </summary>
internal sealed class TcpTestEnv : IAsyncDisposable
{
    /// <summary>Small blocks keep multi-block and many-stream tests to a few MiB.</summary>
    public const int BlockSize = 64 * 1024;

    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly List<TcpTestServer> _servers = new();

    public TcpTestEnv()
    {
        Dir = Path.Combine(Path.GetTempPath(), "ferry-tcp-" + Guid.NewGuid().ToString("N")[..12]);
        Root = Path.Combine(Dir, "root");
        State = Path.Combine(Dir, "state");
        Local = Path.Combine(Dir, "local");
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Local);
    }

    public string Dir { get; }

    public string Root { get; }

    public string State { get; }

    public string Local { get; }

    /// <summary>
    /// Starts a listener. By default it has the shared test key (clients encrypt) and also serves cleartext (the
    /// raw-socket tests speak the framing in clear); <paramref name="keyless"/> gives it no key at all.
    /// </summary>
    public async Task<TcpTestServer> StartServerAsync(
        TcpTestHooks? hooks = null, int maxStreams = 64, TimeSpan? handshakeTimeout = null, int blockSize = BlockSize, int maxSessionsPerAddress = 64,
        bool allowInsecure = true, bool keyless = false, ServerKeyPair? identity = null, AccessPolicy? access = null, TimeSpan? idleTimeout = null,
        TimeSpan? staleUploadAfter = null, TimeProvider? time = null, int maxJobsPerAddress = 4)
    {
        var settings = new TcpListenerSettings
        {
            MaxJobsPerAddress = maxJobsPerAddress,
            BlockSize = blockSize,
            Hooks = hooks,
            HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(10),
            MaxSessionsPerAddress = maxSessionsPerAddress,
            IdleTimeout = idleTimeout ?? TimeSpan.FromSeconds(60),
        };
        var server = await TcpTestServer.StartAsync(Root, State, settings, maxStreams, keyless ? null : identity ?? TestSecurity.ServerKey, allowInsecure, access, staleUploadAfter, time);
        _servers.Add(server);
        return server;
    }

    /// <summary>Writes <paramref name="size"/> seeded random bytes to <paramref name="path"/>; returns them.</summary>
    public static byte[] WriteRandom(string path, long size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, data);
        return data;
    }

    public static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static TcpTransferClient Client(TcpTestHooks? hooks = null, int maxReconnects = 3) =>
        new(new TcpClientSettings { Hooks = hooks, MaxReconnectsPerStream = maxReconnects, ConnectTimeout = TimeSpan.FromSeconds(20) });

    public static ClientOptions Options(int streams, bool overwrite = false) => new() { Streams = streams, Overwrite = overwrite };

    /// <summary>A progress sink that runs inline (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    public static IProgress<TransferProgress> Progress(Action<TransferProgress>? onReport = null) => new InlineProgress(onReport ?? (_ => { }));

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers)
        {
            await s.DisposeAsync();
        }

        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class InlineProgress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }
}
