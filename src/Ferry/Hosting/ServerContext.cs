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
        Logs = new ServerLog(log, Clock, options.LogFormat, options.Verbose ? Microsoft.Extensions.Logging.LogLevel.Debug : Microsoft.Extensions.Logging.LogLevel.Information);
        Transfers = new TransferService(this);
        Rates = new RateBudget(options.MaxRate, options.MaxTotalRate);
    }

    /// <summary>The rate caps every udp:// and tcp:// transfer of this server shares (<c>--max-rate</c>, <c>--max-total-rate</c>).</summary>
    public RateBudget Rates { get; }

    public ServerOptions Options { get; }

    /// <summary>The server's clock (from <see cref="ServerOptions.Time"/>): access checks, log stamps, and the time source of every listener.</summary>
    public ShellClock Clock { get; }

    /// <summary>The one file engine (root jail, uploads, registry) every protocol of this server shares.</summary>
    public FileEngine Files { get; }

    /// <summary>The server side of every transfer (access check, open, list, begin upload, log lines) all listeners share.</summary>
    public TransferService Transfers { get; }

    /// <summary>Where the server log goes (stderr in the CLI).</summary>
    public TextWriter Log { get; }

    /// <summary>The server's loggers (text or JSON lines, numbered events; see <see cref="ServerLogEvents"/>).</summary>
    public ServerLog Logs { get; }

    /// <summary>The logger of one protocol ("udp", "tcp", "serve", …).</summary>
    public Microsoft.Extensions.Logging.ILogger Logger(string protocol) => Logs.For(protocol);

    /// <summary>Logs a line of <paramref name="protocol"/> (event <c>Message</c>).</summary>
    public void Info(string protocol, string message) => ServerLogEvents.Message(Logs.For(protocol), message);

    /// <summary>Logs a line that needs the operator's attention (event <c>Warning</c>).</summary>
    public void Warn(string protocol, string message) => ServerLogEvents.Warning(Logs.For(protocol), message);

    /// <summary>Logs a detail shown only with <c>ferry serve -v</c> (event <c>Detail</c>).</summary>
    public void Detail(string protocol, string message) => ServerLogEvents.Detail(Logs.For(protocol), message);

    public static FileEngine CreateFileEngine(ServerOptions options) => new(new FileEngineOptions
    {
        Root = options.Root,
        StateDir = options.StateDir,
        AllowOverwrite = options.AllowOverwrite,
        FreeSpaceMargin = options.FreeSpaceReserve,
    });
}
