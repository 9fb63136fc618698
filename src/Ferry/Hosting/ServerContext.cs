namespace Ferry.Hosting;

/// <summary>What every protocol listener shares: options, the file engine, and the log.</summary>
public sealed class ServerContext
{
    public ServerContext(ServerOptions options, TextWriter log)
    {
        Options = options;
        Log = log;
    }

    public ServerOptions Options { get; }

    /// <summary>Human-readable server log (stderr in the CLI).</summary>
    public TextWriter Log { get; }

    public void Info(string protocol, string message)
    {
        lock (Log)
        {
            Log.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {protocol,-5} {message}");
        }
    }
}
