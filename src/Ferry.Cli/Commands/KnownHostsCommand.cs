using System.CommandLine;
using System.Globalization;
using Ferry.Security;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary><c>ferry known-hosts list|remove</c>: the server keys this client has pinned (like <c>ssh-keygen -R</c>).</summary>
internal static class KnownHostsCommand
{
    public static Command Create()
    {
        var cmd = new Command("known-hosts", "Show or remove the server keys this client pinned ($FERRY_KNOWN_HOSTS moves the file)");
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Remove());
        return cmd;
    }

    private static Command List()
    {
        var cmd = new Command("list", "Print every pinned key: NAME KEY, one a line (NAME is host:port, or zmq:host:port for CURVE keys)");
        cmd.SetAction(_ => Run(hosts =>
        {
            var pins = hosts.List();
            foreach (var (name, key) in pins)
            {
                Console.Out.WriteLine($"{name} {key}");
            }

            Console.Error.WriteLine($"ferry: {pins.Count} pinned key{(pins.Count == 1 ? string.Empty : "s")} in {hosts.Path}");
            return ExitCode.Ok;
        }));
        return cmd;
    }

    private static Command Remove()
    {
        var server = new Argument<string>("host[:port]")
        {
            Description = "The server whose pins to remove: HOST:PORT (one port, every scheme on it) or HOST (every port); IPv6 as [::1]:7700",
        };
        var cmd = new Command("remove", "Remove the pinned keys of a server whose key changed on purpose; the next connection pins the new key") { server };
        cmd.SetAction(parse => Run(hosts =>
        {
            string text = parse.GetValue(server)!;
            if (!TryParse(text, out string host, out int? port))
            {
                Console.Error.WriteLine($"ferry: '{text}' is not HOST, HOST:PORT or [IPv6]:PORT");
                return ExitCode.Usage;
            }

            var removed = hosts.Remove(host, port);
            Console.Out.WriteLine(removed.Count == 0
                ? $"no pinned key for {text} in {hosts.Path}"
                : $"removed {removed.Count} pinned key{(removed.Count == 1 ? string.Empty : "s")} ({string.Join(", ", removed)}) from {hosts.Path}");
            return ExitCode.Ok;
        }));
        return cmd;
    }

    private static int Run(Func<KnownHosts, ExitCode> action)
    {
        var hosts = KnownHosts.Default();
        try
        {
            return (int)action(hosts);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ferry: cannot use {hosts.Path}: {e.Message}");
            return (int)ExitCode.LocalIo;
        }
    }

    /// <summary>HOST, HOST:PORT, [IPv6], [IPv6]:PORT, or a bare IPv6 address (several colons, no port).</summary>
    internal static bool TryParse(string text, out string host, out int? port)
    {
        port = null;
        host = text.Trim();
        if (host.StartsWith("zmq:", StringComparison.OrdinalIgnoreCase))
        {
            host = host[4..]; // a name as 'list' prints it: the same server, so every scheme's pin goes
        }

        string portText = string.Empty;
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || (close + 1 < host.Length && host[close + 1] != ':'))
            {
                return false;
            }

            portText = close + 1 < host.Length ? host[(close + 2)..] : string.Empty;
            host = host[1..close];
        }
        else if (host.Count(c => c == ':') == 1)
        {
            int colon = host.IndexOf(':', StringComparison.Ordinal);
            portText = host[(colon + 1)..];
            host = host[..colon];
        }

        if (portText.Length > 0)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
            {
                return false;
            }

            port = p;
        }

        return host.Length > 0;
    }
}
