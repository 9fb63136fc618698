using System.CommandLine;
using Ferry.Cli.Output;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary><c>ferry get URL DEST</c> and <c>ferry send SRC URL</c>.</summary>
internal static class TransferCommands
{
    private static readonly Option<bool> s_json = new("--json") { Description = "Print NDJSON events (start, progress at most 4/s, done or error) instead of a progress bar" };
    private static readonly Option<bool> s_quiet = new("--quiet", "-q") { Description = "Print nothing but errors" };
    private static readonly Option<bool> s_verbose = new("--verbose", "-v") { Description = "Describe the connection on stderr: handshake, server key, path, and at the end round trip, loss, streams (also FERRY_LOG=debug)" };
    private static readonly Option<int> s_streams = new("--streams") { Description = "Parallel TCP connections (tcp://)", DefaultValueFactory = _ => 4 };
    private static readonly Option<int?> s_blksize = new("--blksize") { Description = "TFTP block size, 8..65464 (tftp://)" };
    private static readonly Option<int?> s_windowsize = new("--windowsize") { Description = "TFTP window size, 1..65535 (tftp://)" };
    private static readonly Option<double?> s_timeout = new("--timeout") { Description = "Give up when the server is silent this many seconds during a transfer (every scheme; default 30); tftp://: the retransmission timeout (default 5), given up after 5 in a row" };
    private static readonly Option<double> s_connectTimeout = new("--connect-timeout") { Description = "Give up on a server that never answers the handshake after this many seconds", DefaultValueFactory = _ => ClientOptions.DefaultConnectTimeout.TotalSeconds };
    private static readonly Option<int> s_chunkSize = new("--chunk-size") { Description = "Chunk size in bytes (zmq://)", DefaultValueFactory = _ => 1 << 20 };
    private static readonly Option<int?> s_maxDatagram = new("--max-datagram") { Description = "Largest UDP payload in bytes (udp://); the default 1452 fits a 1500-byte MTU over IPv4 and IPv6" };
    private static readonly Option<string?> s_cc = new("--cc") { Description = "Congestion controller (udp://): bbr (default) or newreno" };
    private static readonly Option<string?> s_token = SecurityOptions.Token();
    private static readonly Option<string?> s_serverKey = SecurityOptions.ServerKey(zmq: true);
    private static readonly Option<bool> s_insecure = SecurityOptions.Insecure();

    /// <summary>The options only some schemes use, and those schemes.</summary>
    private static readonly (Option Option, string[] Schemes)[] s_schemeOptions =
    [
        (s_streams, ["tcp"]),
        (s_blksize, ["tftp"]),
        (s_windowsize, ["tftp"]),
        (s_chunkSize, ["zmq"]),
        (s_maxDatagram, ["udp"]),
        (s_cc, ["udp"]),
        (s_token, ["udp", "tcp", "zmq"]),
        (s_serverKey, ["udp", "tcp", "zmq"]),
        (s_insecure, ["udp", "tcp", "zmq"]),
    ];

    private const string PathRule = " (the path after host[:port]/ is taken literally: no percent-decoding, and '#', '?', '%' and spaces are part of the name)";

    public static Command Get()
    {
        var url = new Argument<string>("url") { Description = "Remote file, e.g. udp://host:7700/dir/file" + PathRule };
        var dest = new Argument<string>("dest") { Description = "Local destination file (or directory); - writes the verified file to standard output (progress and --json go to stderr)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the destination if it exists" };
        var cmd = new Command("get", "Download a file") { url, dest, overwrite };
        AddCommon(cmd);
        // The bodies return the reporter's task rather than awaiting it: one async state machine less each, and
        // fewer methods JIT-compiled before the first packet (RunAsync awaits, and catches, either way).
        cmd.SetAction((parse, ct) => RunAsync(parse, ct, (reporter, options, state, token) =>
        {
            var remote = TransferClients.ParseUrl(parse.GetValue(url)!);
            if (parse.GetValue(dest) == StandardStreams.Dash)
            {
                var toStdout = TransferClients.For(remote);
                WarnIgnoredOptions(parse, remote.Scheme);
                state.Resumable = false;
                state.WhyNoResume = "a download to standard output is not kept";
                return StandardStreams.GetToStandardOutputAsync(
                    file => reporter.RunAsync($"get {remote}", remote.ToString(), p => toStdout.GetAsync(remote, file, options, p, token)), token);
            }

            var client = TransferClients.For(remote);
            WarnIgnoredOptions(parse, remote.Scheme);
            string local = LocalDestination.Resolve(parse.GetValue(dest)!, remote);
            options.Overwrite = parse.GetValue(overwrite);
            state.Resumable = client.ResumesAfterInterruption;
            return reporter.RunAsync($"get {remote}", remote.ToString(), p => client.GetAsync(remote, local, options, p, token));
        }, dataOnStdout: parse.GetValue(dest) == StandardStreams.Dash));
        return cmd;
    }

    public static Command Send()
    {
        var src = new Argument<string>("source") { Description = "Local file to upload; - (or a pipe or fifo) is read to its end into $TMPDIR first, then sent (no resume)" };
        var url = new Argument<string>("url") { Description = "Remote destination, e.g. udp://host:7700/dir/file" + PathRule };
        var cmd = new Command("send", "Upload a file") { src, url };
        AddCommon(cmd);
        cmd.Options.Add(s_chunkSize); // zmq:// has uploads only
        cmd.SetAction((parse, ct) => RunAsync(parse, ct, (reporter, options, state, token) =>
        {
            string local = parse.GetValue(src)!;
            var remote = TransferClients.ParseUrl(parse.GetValue(url)!);
            if (Ferry.Files.InputSpool.IsStream(local))
            {
                var fromStream = TransferClients.For(remote);
                WarnIgnoredOptions(parse, remote.Scheme);
                state.Resumable = false;
                state.WhyNoResume = "an input that is not a file is not kept";
                state.Sending = true;
                string name = local == StandardStreams.Dash ? "standard input" : Path.GetFileName(local);
                return StandardStreams.SendCopyAsync(
                    local, copy => reporter.RunAsync($"send {name}", remote.ToString(), p => fromStream.SendAsync(copy, remote, options, p, token)), token);
            }

            if (!File.Exists(local))
            {
                throw new TransferException(Directory.Exists(local) ? ExitCode.Usage : ExitCode.LocalIo,
                    Directory.Exists(local) ? $"'{local}' is a directory; ferry sends one file at a time" : $"'{local}' does not exist");
            }

            var client = TransferClients.For(remote);
            WarnIgnoredOptions(parse, remote.Scheme);
            state.Resumable = client.ResumesAfterInterruption;
            // The upload key stays beside the source's resume state until the upload succeeds: a re-run after an
            // interruption proves with it that the upload the server still holds is its own, and takes it over at once.
            state.Sending = true;
            var keys = UploadKeys.Default;
            options.UploadKey = keys?.GetOrCreate(local, remote);
            return reporter.RunAsync($"send {Path.GetFileName(local)}", remote.ToString(), async p =>
            {
                var result = await client.SendAsync(local, remote, options, p, token).ConfigureAwait(false);
                keys?.Forget(local, remote);
                return result;
            });
        }));
        return cmd;
    }

    private static void AddCommon(Command cmd)
    {
        foreach (var o in new Option[] { s_json, s_quiet, s_blksize, s_windowsize })
        {
            cmd.Options.Add(o);
        }

        AddConnectionOptions(cmd);
    }

    /// <summary>
    /// An option given on the command line that the URL's scheme does not use is ignored: says so on stderr (one
    /// line each), since a silently ignored <c>--blksize</c> on udp:// looks like a setting that took effect.
    /// </summary>
    private static void WarnIgnoredOptions(ParseResult parse, string scheme)
    {
        foreach (var (option, schemes) in s_schemeOptions)
        {
            if (parse.GetResult(option) is { IdentifierTokenCount: > 0 } && !schemes.Contains(scheme, StringComparer.OrdinalIgnoreCase))
            {
                Console.Error.WriteLine($"ferry: warning: {option.Name} is ignored for {scheme}:// (it applies to {string.Join(", ", schemes.Select(s => s + "://"))})");
            }
        }
    }

    private static async Task<int> RunAsync(
        ParseResult parse,
        CancellationToken ct,
        Func<ProgressReporter, ClientOptions, RunState, CancellationToken, Task<TransferResult>> body,
        bool dataOnStdout = false)
    {
        // With the file's bytes on standard output, every report (summary, --json events) goes to stderr.
        var reporter = dataOnStdout
            ? new ProgressReporter(parse.GetValue(s_json), parse.GetValue(s_quiet), static () => Console.Error) { LiveBar = false }
            : new ProgressReporter(parse.GetValue(s_json), parse.GetValue(s_quiet), static () => Console.Out);
        var state = new RunState();
        try
        {
            var options = BuildOptions(parse, reporter.Notice);
            var result = await body(reporter, options, state, ct).ConfigureAwait(false);
            reporter.Done(result);
            return (int)ExitCode.Ok;
        }
        catch (TransferException e)
        {
            reporter.Error(e.Code, e.Message);
            return (int)e.Code;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            reporter.Error(ExitCode.Interrupted, reporter.InterruptedMessage(state.Sending, state.Resumable, state.WhyNoResume));
            return (int)ExitCode.Interrupted;
        }
        catch (IOException e)
        {
            reporter.Error(ExitCode.LocalIo, e.Message);
            return (int)ExitCode.LocalIo;
        }
        catch (UnauthorizedAccessException e)
        {
            reporter.Error(ExitCode.LocalIo, e.Message);
            return (int)ExitCode.LocalIo;
        }
    }

    /// <summary>The connection and security options <c>ferry ls</c> shares with get and send.</summary>
    internal static void AddConnectionOptions(Command cmd)
    {
        foreach (var o in new Option[] { s_verbose, s_timeout, s_connectTimeout, s_maxDatagram, s_cc, s_streams, s_token, s_serverKey, s_insecure })
        {
            cmd.Options.Add(o);
        }
    }

    /// <summary>The client options from the command line (every option <see cref="AddConnectionOptions"/> adds, and the transfer ones).</summary>
    internal static ClientOptions BuildOptions(ParseResult parse, Action<string> notice)
    {
        if (parse.GetValue(s_connectTimeout) <= 0)
        {
            throw new TransferException(ExitCode.Usage, "--connect-timeout must be positive");
        }

        return new ClientOptions
        {
            Streams = parse.GetValue(s_streams),
            BlockSize = parse.GetValue(s_blksize),
            WindowSize = parse.GetValue(s_windowsize),
            ChunkSize = parse.GetValue(s_chunkSize),
            Timeout = parse.GetValue(s_timeout) is double t ? TimeSpan.FromSeconds(t) : null,
            ConnectTimeout = TimeSpan.FromSeconds(parse.GetValue(s_connectTimeout)),
            MaxDatagram = parse.GetValue(s_maxDatagram),
            CongestionControl = parse.GetValue(s_cc),
            Token = parse.GetValue(s_token),
            ServerKey = parse.GetValue(s_serverKey),
            Insecure = parse.GetValue(s_insecure),
            Notice = notice,
            Verbose = parse.GetValue(s_verbose) || string.Equals(Environment.GetEnvironmentVariable("FERRY_LOG"), "debug", StringComparison.OrdinalIgnoreCase)
                ? line => Console.Error.WriteLine($"ferry: {line}")
                : null,
        };
    }

    /// <summary>What the catch blocks need to know about the transfer that was running.</summary>
    private sealed class RunState
    {
        public bool Resumable { get; set; } = true;

        public string WhyNoResume { get; set; } = "this protocol cannot resume";

        public bool Sending { get; set; }
    }
}
