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
        var tftpAnonymous = new Option<bool>("--tftp-anonymous") { Description = "Serve TFTP although tokens are required for everything else (TFTP has no authentication: anyone may use it)" };
        var reserve = new Option<string?>("--reserve") { Description = "Free space every upload must leave on the root's filesystem, e.g. 0, 512K, 64M, 2G (default: 1% of the filesystem, at most 64M)" };

        var maxRate = new Option<string?>("--max-rate") { Description = "Cap each udp:// and tcp:// transfer at this rate in bit/s, e.g. 40M (K, M, G = 1,000, 1,000,000, 1,000,000,000); a client asking for more gets the cap", HelpName = "RATE" };
        var maxTotalRate = new Option<string?>("--max-total-rate") { Description = "Cap the sum of the running udp:// and tcp:// transfers at this rate in bit/s, shared equally among them (re-divided as transfers start and end)", HelpName = "RATE" };
        var logFormat = new Option<string>("--log-format") { Description = "Log lines on stderr as text (for people) or json (one object per line: time, level, protocol, event, event_id, the event's fields, message)", DefaultValueFactory = _ => "text" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log details too: each request's authorization and token" };

        var cmd = new Command("serve", "Serve files over udp://, tcp://, zmq://, tftp:// and the message relay")
        {
            root, bind, port, tcpPort, zmqPort, relayPort, tftpPort, stateDir, allowOverwrite, tftpAllowWrite, maxStreams, zmqIdle,
            relayRetainCount, relayRetainDays, insecure, requireToken, tftpAnonymous, reserve, maxRate, maxTotalRate, logFormat, verbose,
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

            long? reserveBytes = null;
            if (parse.GetValue(reserve) is { } reserveText)
            {
                if (!TryParseSize(reserveText, out long r))
                {
                    Console.Error.WriteLine($"ferry: --reserve '{reserveText}' is not a size like 0, 512K, 64M or 2G");
                    return (int)ExitCode.Usage;
                }

                reserveBytes = r;
            }

            long maxRateBits = 0, maxTotalRateBits = 0;
            foreach (var (option, name) in new[] { (maxRate, "--max-rate"), (maxTotalRate, "--max-total-rate") })
            {
                if (parse.GetValue(option) is { } rateText)
                {
                    if (!RateLimits.TryParse(rateText, out long bits, out string rateError))
                    {
                        Console.Error.WriteLine($"ferry: {name} {rateError}");
                        return (int)ExitCode.Usage;
                    }

                    if (option == maxRate)
                    {
                        maxRateBits = bits;
                    }
                    else
                    {
                        maxTotalRateBits = bits;
                    }
                }
            }

            string rootDir = Path.GetFullPath(parse.GetValue(root)!);
            string state = Path.GetFullPath(parse.GetValue(stateDir) ?? DefaultStateDir(rootDir));
            // The root and the state directory are checked before anything else, so a typo gets one clear line.
            if ((ServerBootstrap.PrepareDirectory("--root", rootDir) ?? ServerBootstrap.PrepareDirectory("--state-dir", state)) is { } unusable)
            {
                Console.Error.WriteLine($"ferry: {unusable}");
                return (int)ExitCode.LocalIo;
            }

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

            var access = new Ferry.Security.AccessPolicy(new Ferry.Security.TokenStore(state), parse.GetValue(requireToken));
            bool tftpOn = parse.GetValue(tftpPort) is >= 0;
            if (tftpOn && !access.IsOpen && !parse.GetValue(tftpAnonymous))
            {
                Console.Error.WriteLine(
                    $"ferry: TFTP has no authentication, so it cannot honour {(access.RequireToken ? "--require-token" : $"the access tokens in {access.Store!.Path}")}: "
                    + "anyone could read (and with --tftp-allow-write, write) files over tftp://. Leave --tftp-port out, "
                    + "or add --tftp-anonymous to serve TFTP to anyone on purpose.");
                return (int)ExitCode.Usage;
            }

            var options = new ServerOptions
            {
                Root = rootDir,
                StateDir = state,
                Identity = identity,
                AllowInsecure = parse.GetValue(insecure),
                Access = access,
                FreeSpaceReserve = reserveBytes,
                MaxRate = maxRateBits,
                MaxTotalRate = maxTotalRateBits,
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
                LogFormat = parse.GetValue(logFormat) == "json" ? ServerLogFormat.Json : ServerLogFormat.Text,
                Verbose = parse.GetValue(verbose),
            };
            try
            {
                var context = ServerBootstrap.CreateContext(options, Console.Error);
                await using var host = await ServerHost.StartAsync(context).ConfigureAwait(false);
                context.Info("serve", $"root {options.Root}, state {options.StateDir}");
                if (options.MaxRate > 0 || options.MaxTotalRate > 0)
                {
                    context.Info("serve", $"rate caps: each transfer {RateLimits.Format(options.MaxRate)}, all transfers together {RateLimits.Format(options.MaxTotalRate)} (udp://, tcp://)");
                }

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
                    context.Warn("serve", "no access token is configured: anyone who can reach these ports may read and write every file under the root. Create one with 'ferry token create' or start with --require-token.");
                }

                if (options.AllowInsecure)
                {
                    context.Warn("serve", "--insecure: clients may connect without encryption");
                }

                if (tftpOn && !options.Access.IsOpen)
                {
                    context.Warn("serve", $"--tftp-anonymous: TFTP has no authentication: anyone who can reach its port may read every file under the root{(options.TftpAllowWrite ? " and upload new ones" : string.Empty)}, without a token");
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
            catch (StateDirInUseException e)
            {
                Console.Error.WriteLine($"ferry: {e.Message}");
                return (int)ExitCode.Failure;
            }
            catch (ListenerStartException e)
            {
                Console.Error.WriteLine($"ferry: {e.Message}; choose another with {PortFlag(e.Protocol)}, or turn it off with {PortFlag(e.Protocol)} -1");
                return (int)ExitCode.Failure;
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

    /// <summary>"0", "4096", "512K", "64M", "2G", "1T" (powers of 1024; "KiB", "MB" and the like are read the same).</summary>
    internal static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        string t = text.Trim();
        int end = t.Length;
        while (end > 0 && !char.IsAsciiDigit(t[end - 1]))
        {
            end--;
        }

        string unit = t[end..].ToUpperInvariant();
        int shift = unit switch
        {
            "" or "B" => 0,
            "K" or "KB" or "KIB" => 10,
            "M" or "MB" or "MIB" => 20,
            "G" or "GB" or "GIB" => 30,
            "T" or "TB" or "TIB" => 40,
            _ => -1,
        };
        if (shift < 0 || end == 0 || !long.TryParse(t.AsSpan(0, end), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n)
            || n > (long.MaxValue >> shift))
        {
            return false;
        }

        bytes = n << shift;
        return true;
    }

    private static string PortFlag(string protocol) => protocol == "udp" ? "--port" : $"--{protocol}-port";

    internal static string DefaultStateDir(string root)
    {
        string baseDir = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(root)))[..12];
        return Path.Combine(baseDir, "ferry", hash);
    }
}
