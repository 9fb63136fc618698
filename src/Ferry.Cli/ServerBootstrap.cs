using Ferry.Hosting;

namespace Ferry.Cli;

/// <summary>Builds the shared server context and registers every protocol with the host.</summary>
internal static class ServerBootstrap
{
    public static ServerContext CreateContext(ServerOptions options, TextWriter log)
    {
        Directory.CreateDirectory(options.Root);
        Directory.CreateDirectory(options.StateDir);
        var files = ServerContext.CreateFileEngine(options);
        return new ServerContext(options, log, files);
    }
}
