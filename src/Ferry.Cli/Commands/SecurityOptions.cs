using System.CommandLine;

namespace Ferry.Cli.Commands;

/// <summary>The client-side security options every command that talks to a server shares.</summary>
internal static class SecurityOptions
{
    public static Option<string?> Token() => new("--token")
    {
        Description = "Access token from 'ferry token create' (default: $FERRY_TOKEN)",
    };

    /// <param name="zmq">Whether the command takes zmq:// URLs, whose server key is the CURVE key instead.</param>
    public static Option<string?> ServerKey(bool zmq) => new("--server-key")
    {
        Description = "Expected server key (SHA256:... as printed by 'ferry serve'"
            + (zmq ? "; for zmq:// the 'zmq CURVE key' it prints, in single quotes" : string.Empty)
            + "); default: trust on first use, pinned in ~/.config/ferry/known_hosts",
    };

    public static Option<bool> Insecure() => new("--insecure")
    {
        Description = "No encryption (trusted networks, benchmarks); the server must run with --insecure too",
    };
}
