using Ferry.Files;
using Ferry.Timing;

namespace Ferry.Hosting;

/// <summary>What every protocol listener shares: options, the file engine, and the log.</summary>
public sealed class ServerContext
{
    /// <summary>Creates the context and its file engine from <paramref name="options"/> (Root, StateDir, AllowOverwrite).</summary>
    public ServerContext(ServerOptions options, TextWriter log)
        : this(options, log, CreateFileEngine(options))
    {
    }

    public ServerContext(ServerOptions options, TextWriter log, FileEngine files)
    {
        Options = options;
        Log = log;
        Files = files;
        Clock = new ShellClock(options.Time);
        Transfers = new TransferService(this);
    }

    public ServerOptions Options { get; }

    /// <summary>The server's clock (from <see cref="ServerOptions.Time"/>): access checks, log stamps, and the time source of every listener.</summary>
    public ShellClock Clock { get; }

    /// <summary>The one file engine (root jail, uploads, registry) every protocol of this server shares.</summary>
    public FileEngine Files { get; }

    /// <summary>The server side of every transfer (access check, open, list, begin upload, log lines) all listeners share.</summary>
    public TransferService Transfers { get; }

    /// <summary>Human-readable server log (stderr in the CLI).</summary>
    public TextWriter Log { get; }

    public void Info(string protocol, string message)
    {
        lock (Log)
        {
            Log.WriteLine($"{Clock.UtcNow.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {protocol,-5} {message}");
        }
    }

    public static FileEngine CreateFileEngine(ServerOptions options) => new(new FileEngineOptions
    {
        Root = options.Root,
        StateDir = options.StateDir,
        AllowOverwrite = options.AllowOverwrite,
        FreeSpaceMargin = options.FreeSpaceReserve,
    });
}
