using System.CommandLine;
using System.Net;
using Ferry.Hosting;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary><c>ferry serve</c>: every protocol over one file root.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var root = new Option<string>("--root") { Description = "Directory whose files are served and received (created if missing)", DefaultValueFactory = _ => "./data" };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; the default :: accepts IPv4 and IPv6", DefaultValueFactory = _ => "::" };
        var port = new Option<int>("--port") { Description = "UDP port of the udp:// protocol (0: any free port)", DefaultValueFactory = _ => 7700 };
        var tcpPort = new Option<int>("--tcp-port") { Description = "TCP port of tcp:// (-1: off)", DefaultValueFactory = _ => 7701 };
        var zmqPort = new Option<int>("--zmq-port") { Description = "TCP port of zmq:// (-1: off)", DefaultValueFactory = _ => 7702 };
        var relayPort = new Option<int>("--relay-port") { Description = "UDP port of the message relay (-1: off)", DefaultValueFactory = _ => 7703 };
        var tftpPort = new Option<int?>("--tftp-port") { Description = "UDP port of TFTP; off unless given (standard: 69)" };
        var stateDir = new Option<string?>("--state-dir") { Description = "Journals and databases (default: ~/.local/state/ferry/<root hash>, outside the root)" };
        var allowOverwrite = new Option<bool>("--allow-overwrite") { Description = "Let uploads replace existing files" };
        var tftpAllowWrite = new Option<bool>("--tftp-allow-write") { Description = "Accept TFTP write requests (TFTP has no authentication)" };
        var maxStreams = new Option<int>("--max-streams") { Description = "Most parallel streams one tcp:// transfer may open", DefaultValueFactory = _ => 64 };
        var zmqIdle = new Option<double>("--zmq-idle-timeout") { Description = "Seconds after which an idle zmq:// transfer is aborted", DefaultValueFactory = _ => 60 };
        var relayRetainCount = new Option<long?>("--relay-retain-count") { Description = "Relay history: keep at most this many messages (default: all)" };
        var relayRetainDays = new Option<double?>("--relay-retain-days") { Description = "Relay history: keep messages younger than this many days (default: all)" };
        var insecure = new Option<bool>("--insecure") { Description = "Also accept clients that ask for no encryption (--insecure on their side); zmq:// then runs plain only (a zmq port is either CURVE or plain)" };
        var requireToken = new Option<bool>("--require-token") { Description = "Refuse clients without an access token (see 'ferry token create'), even while no token exists" };

        var cmd = new Command("serve", "Serve files over udp://, tcp://, zmq://, tftp:// and the message relay")
        {
            root, bind, port, tcpPort, zmqPort, relayPort, tftpPort, stateDir, allowOverwrite, tftpAllowWrite, maxStreams, zmqIdle,
            relayRetainCount, relayRetainDays, insecure, requireToken,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            if (!IPAddress.TryParse(parse.GetValue(bind), out var address))
            {
                Console.Error.WriteLine($"ferry: --bind '{parse.GetValue(bind)}' is not an IP address");
                return (int)ExitCode.Usage;
            }

            if (parse.GetValue(relayRetainCount) is < 1 || parse.GetValue(relayRetainDays) is <= 0)
            {
                Console.Error.WriteLine("ferry: --relay-retain-count must be at least 1 and --relay-retain-days above 0");
                return (int)ExitCode.Usage;
            }

            string rootDir = Path.GetFullPath(parse.GetValue(root)!);
            string state = Path.GetFullPath(parse.GetValue(stateDir) ?? DefaultStateDir(rootDir));
            Ferry.Protocol.Security.ServerKeyPair identity;
            bool created;
            try
            {
                identity = Ferry.Security.ServerIdentity.LoadOrCreate(state, out created);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Console.Error.WriteLine($"ferry: server key: {e.Message}");
                return (int)ExitCode.LocalIo;
            }

            var options = new ServerOptions
            {
                Root = rootDir,
                StateDir = state,
                Identity = identity,
                AllowInsecure = parse.GetValue(insecure),
                Access = new Ferry.Security.AccessPolicy(new Ferry.Security.TokenStore(state), parse.GetValue(requireToken)),
                Bind = address,
                UdpPort = Port(parse.GetValue(port)),
                TcpPort = Port(parse.GetValue(tcpPort)),
                ZmqPort = Port(parse.GetValue(zmqPort)),
                RelayPort = Port(parse.GetValue(relayPort)),
                TftpPort = parse.GetValue(tftpPort) is int tp ? Port(tp) : null,
                AllowOverwrite = parse.GetValue(allowOverwrite),
                TftpAllowWrite = parse.GetValue(tftpAllowWrite),
                MaxStreams = parse.GetValue(maxStreams),
                ZmqIdleTimeout = TimeSpan.FromSeconds(parse.GetValue(zmqIdle)),
                RelayRetainCount = parse.GetValue(relayRetainCount),
                RelayRetainDays = parse.GetValue(relayRetainDays),
            };
            try
            {
                var context = ServerBootstrap.CreateContext(options, Console.Error);
                await using var host = await ServerHost.StartAsync(context).ConfigureAwait(false);
                context.Info("serve", $"root {options.Root}, state {options.StateDir}");
                context.Info("serve", $"server key {identity.Fingerprint}{(created ? " (new; clients pin it on first use)" : string.Empty)}");
                foreach (var l in host.Listeners)
                {
                    if (l is Ferry.Zmq.ZmqListener { CurvePublicKey: { } curveKey })
                    {
                        // Derived from the server key (docs/PROTOCOL.md); zmq:// clients cannot learn it in the handshake.
                        context.Info("serve", $"zmq CURVE key {curveKey} (zmq:// clients pass it once: {Ferry.Zmq.ZmqServerCurveKey.ServerKeyArgument(curveKey)})");
                    }
                }

                if (options.Access.IsOpen)
                {
                    context.Info("serve", "WARNING: no access token is configured: anyone who can reach these ports may read and write every file under the root. Create one with 'ferry token create' or start with --require-token.");
                }

                if (options.AllowInsecure)
                {
                    context.Info("serve", "WARNING: --insecure: clients may connect without encryption");
                }
                foreach (var l in host.Listeners)
                {
                    context.Info(l.Name, $"listening on {l.LocalEndPoint}");
                }

                await host.RunAsync(ct).ConfigureAwait(false);
                context.Info("serve", "stopped");
                return (int)ExitCode.Ok;
            }
            catch (TransferException e)
            {
                Console.Error.WriteLine($"ferry: {e.Message}");
                return (int)e.Code;
            }
            catch (System.Net.Sockets.SocketException e)
            {
                Console.Error.WriteLine($"ferry: cannot listen: {e.Message}");
                return (int)ExitCode.Failure;
            }
        });
        return cmd;
    }

    private static int? Port(int value) => value < 0 ? null : value;

    internal static string DefaultStateDir(string root)
    {
        string baseDir = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(root)))[..12];
        return Path.Combine(baseDir, "ferry", hash);
    }
}
