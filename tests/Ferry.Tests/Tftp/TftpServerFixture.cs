using System.Net;
using System.Security.Cryptography;
using Ferry.Hosting;
using Ferry.Tests.Files;
using Ferry.Tftp;

namespace Ferry.Tests.Tftp;

/// <summary>A real TFTP listener on 127.0.0.1 (ephemeral port) over a temporary root.</summary>
internal sealed class TftpServerFixture : IAsyncDisposable
{
    private readonly TempDir _dir = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public TftpServerFixture(bool allowWrite = false, bool allowOverwrite = false, Ferry.Protocol.Tftp.TftpServerPolicy? policy = null)
    {
        Root = _dir.Combine("root");
        StateDir = _dir.Combine("state");
        Directory.CreateDirectory(Root);
        var options = new ServerOptions
        {
            Root = Root,
            StateDir = StateDir,
            Bind = IPAddress.Loopback,
            TftpPort = 0,
            TftpAllowWrite = allowWrite,
            AllowOverwrite = allowOverwrite,
        };
        Log = new StringWriter();
        Context = new ServerContext(options, TextWriter.Synchronized(Log), ServerContext.CreateFileEngine(options));
        Listener = new TftpListener(Context, 0, policy: policy);
        _run = Listener.RunAsync(_stop.Token);
    }

    public string Root { get; }

    public string StateDir { get; }

    public StringWriter Log { get; }

    public ServerContext Context { get; }

    public TftpListener Listener { get; }

    public int Port => ((IPEndPoint)Listener.LocalEndPoint).Port;

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public Uri Url(string path) => new($"tftp://127.0.0.1:{Port}/{path}");

    /// <summary>A path in the scratch area outside the root.</summary>
    public string Local(string name)
    {
        string path = _dir.Combine("local", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>Writes a file of pseudo-random bytes under the root and returns its content.</summary>
    public byte[] CreateFile(string relativePath, int size, int seed = 1)
    {
        var data = MemoryBlockSource.Content(size, seed);
        string full = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, data);
        return data;
    }

    public string LogText
    {
        get
        {
            lock (Log)
            {
                return Log.ToString();
            }
        }
    }

    public static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _run.WaitAsync(TimeSpan.FromSeconds(15));
        await Listener.DisposeAsync();
        _dir.Dispose();
    }
}
