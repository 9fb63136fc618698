using System.CommandLine;
using Ferry.Cli.Output;
using Ferry.Jobs;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary><c>ferry get URL DEST</c> and <c>ferry send SRC URL</c>.</summary>
internal static class TransferCommands
{
    private static readonly Option<bool> s_json = new("--json") { Description = "Print NDJSON events (start, progress at most 4/s, done or error; for a tree or several sources also one file event per file) instead of a progress bar" };
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
    private static readonly Option<string?> s_limitRate = new("--limit-rate")
    {
        Description = "Send and receive the file data at most this fast, in bit/s: 500K, 40M, 1.5G (K, M, G = 1,000, 1,000,000, 1,000,000,000) "
            + "(udp://, tcp://; a download asks the server to send no faster; the server's own cap may be lower, and is reported)",
        HelpName = "RATE",
    };

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
        (s_limitRate, ["udp", "tcp"]),
        (s_token, ["udp", "tcp", "zmq"]),
        (s_serverKey, ["udp", "tcp", "zmq"]),
        (s_insecure, ["udp", "tcp", "zmq"]),
    ];

    private static readonly Option<int> s_parallel = new("--parallel") { Description = "Files in flight at once for a directory or several sources over zmq:// (each file its own connection; tcp:// and udp:// use it only against a server older than jobs), 1..64", DefaultValueFactory = _ => PerFileCarrier.DefaultParallel };

    private const string PathRule = " (the path after host[:port]/ is taken literally: no percent-decoding, and '#', '?', '%' and spaces are part of the name)";

    /// <summary>The destination rule, for both commands' help.</summary>
    /// <summary>The destination rule, for both commands' help.</summary>
    private const string DestinationHelp = """

          A directory source is copied recursively: files and directories (empty ones too) with their modification
          times and rwx modes; symlinks and special files are skipped with a warning.
          Destination rule: a destination ending in '/' (or '.', '..') means into that directory, under each source's
          own name. Otherwise it names the copy: a directory becomes that directory (created, or completed); a file
          becomes that file, or goes inside it if it is an existing directory. Several sources need a trailing '/'.
          The same command again skips files already complete (same size and time) and resumes partial ones.
          Exit 8: some files failed (each one reported), the others are complete.
        """;

    public static Command Get()
    {
        var urls = new Argument<string[]>("url") { Arity = ArgumentArity.OneOrMore, CustomParser = AllButLast, Description = "Remote file or directory, e.g. udp://host:7700/dir/file (several: all on one server)" + PathRule };
        var dest = new Argument<string>("dest") { Description = "Local destination file or directory; - writes the verified file to standard output (one file only; progress and --json go to stderr)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the destination if it exists" };
        var cmd = new Command("get", "Download files or directory trees." + DestinationHelp + """

          Examples:
            ferry get udp://host/backup/photos ./photos           the directory, recursively, as ./photos
            ferry get udp://host/a.iso udp://host/b.iso ./here/   both into ./here/
        """)
        {
            urls, dest, overwrite,
        };
        AddCommon(cmd);
        // The bodies return the reporter's task rather than awaiting it: one async state machine less each, and
        // fewer methods JIT-compiled before the first packet (RunAsync awaits, and catches, either way).
        cmd.SetAction((parse, ct) => RunAsync(parse, ct, (reporter, options, state, token) =>
        {
            string[] sources = parse.GetValue(urls)!;
            string destination = parse.GetValue(dest)!;
            var remote = TransferClients.ParseUrl(sources[0]);
            options.Overwrite = parse.GetValue(overwrite);
            if (destination == StandardStreams.Dash)
            {
                if (sources.Length > 1)
                {
                    throw new TransferException(ExitCode.Usage, "- (standard output) takes one file; give a directory ending in '/' for several sources");
                }

                var toStdout = TransferClients.For(remote);
                WarnIgnoredOptions(parse, remote.Scheme);
                state.Resumable = false;
                state.WhyNoResume = "a download to standard output is not kept";
                return Single(reporter, StandardStreams.GetToStandardOutputAsync(
                    file => reporter.RunAsync($"get {remote}", remote.ToString(), p => toStdout.GetAsync(remote, file, options, p, token)), token));
            }

            // Into a directory that is not there yet: the job creates it.
            if (sources.Length > 1 || DestinationRule.MeansInto(remote.Path) || (DestinationRule.MeansInto(destination) && !Directory.Exists(destination)))
            {
                return GetJobAsync(parse, options, state, sources, destination, token);
            }

            var client = TransferClients.For(remote);
            WarnIgnoredOptions(parse, remote.Scheme);
            string local = LocalDestination.Resolve(destination, remote);
            if (Directory.Exists(local))
            {
                // Only a directory can go there (a re-run of a tree's download): the job says so if the source is a file.
                return GetJobAsync(parse, options, state, sources, destination, token);
            }

            state.Resumable = client.ResumesAfterInterruption;
            return SingleGetAsync(parse, reporter, options, state, client, remote, local, destination, token);
        }, dataOnStdout: parse.GetValue(dest) == StandardStreams.Dash));
        return cmd;
    }

    public static Command Send()
    {
        var src = new Argument<string[]>("source")
        {
            Arity = ArgumentArity.OneOrMore,
            CustomParser = AllButLast,
            Description = "Local files or directories to upload; - (or a pipe or fifo, as the only source) is read to its end into $TMPDIR first, then sent (no resume)",
        };
        var url = new Argument<string>("url") { Description = "Remote destination, e.g. udp://host:7700/dir/file or udp://host:7700/dir/" + PathRule };
        var cmd = new Command("send", "Upload files or directory trees." + DestinationHelp + """

          Examples:
            ferry send ./photos udp://host/backup/photos          the directory, recursively, as backup/photos
            ferry send a.iso b.iso ./notes udp://host/inbox/      all three into inbox/
            ferry send a.iso udp://host/inbox/                    inbox/a.iso
        """)
        {
            src, url,
        };
        AddCommon(cmd);
        cmd.Options.Add(s_chunkSize); // zmq:// has uploads only
        cmd.SetAction((parse, ct) => RunAsync(parse, ct, (reporter, options, state, token) =>
        {
            string[] sources = parse.GetValue(src)!;
            var remote = TransferClients.ParseUrl(parse.GetValue(url)!);
            string local = sources[0];
            if (sources.Length == 1 && Ferry.Files.InputSpool.IsStream(local))
            {
                var fromStream = TransferClients.For(remote);
                WarnIgnoredOptions(parse, remote.Scheme);
                state.Resumable = false;
                state.WhyNoResume = "an input that is not a file is not kept";
                state.Sending = true;
                string name = local == StandardStreams.Dash ? "standard input" : Path.GetFileName(local);
                return Single(reporter, StandardStreams.SendCopyAsync(
                    local, copy => reporter.RunAsync($"send {name}", remote.ToString(), p => fromStream.SendAsync(copy, remote, options, p, token)), token));
            }

            if (sources.Length > 1 || Directory.Exists(local))
            {
                return SendJobAsync(parse, options, state, sources, remote, token);
            }

            if (!File.Exists(local))
            {
                throw new TransferException(ExitCode.LocalIo, $"'{local}' does not exist");
            }

            var client = TransferClients.For(remote);
            WarnIgnoredOptions(parse, remote.Scheme);
            state.Resumable = client.ResumesAfterInterruption;
            state.Sending = true;
            if (DestinationRule.MeansInto(remote.Path))
            {
                remote = Inside(remote, JobPlanner.LocalName(local));
            }

            return Single(reporter, reporter.RunAsync($"send {Path.GetFileName(local)}", remote.ToString(), async p =>
            {
                try
                {
                    return await SendOneAsync(client, local, remote, options, p, token).ConfigureAwait(false);
                }
                catch (TransferException e) when (e.Failure == FailureKind.NotRegularFile)
                {
                    if (!await IsRemoteDirectoryAsync(client, remote, options, token).ConfigureAwait(false))
                    {
                        throw;
                    }
                }

                // The destination is an existing directory: the file goes inside it, as cp does.
                return await SendOneAsync(client, local, Inside(remote, JobPlanner.LocalName(local)), options, p, token).ConfigureAwait(false);
            }));
        }));
        return cmd;
    }

    /// <summary>
    /// The sources of <c>send SRC... URL</c> and <c>get URL... DEST</c>: every token but the last, which is left to the
    /// argument after (a OneOrMore argument would otherwise take them all).
    /// </summary>
    private static string[] AllButLast(System.CommandLine.Parsing.ArgumentResult result)
    {
        int take = Math.Max(1, result.Tokens.Count - 1);
        if (result.Tokens.Count > 1)
        {
            result.OnlyTake(take);
        }

        return result.Tokens.Take(take).Select(t => t.Value).ToArray();
    }

    /// <summary>One file's upload; the upload key stays beside the source until the server confirmed the file.</summary>
    private static async Task<TransferResult> SendOneAsync(ITransferClient client, string local, RemoteUrl remote, ClientOptions options, IProgress<TransferProgress> p, CancellationToken token)
    {
        // The upload key stays beside the source's resume state until the upload succeeds: a re-run after an
        // interruption proves with it that the upload the server still holds is its own, and takes it over at once.
        var keys = UploadKeys.Default;
        options.UploadKey = keys?.GetOrCreate(local, remote);
        var result = await client.SendAsync(local, remote, options, p, token).ConfigureAwait(false);
        keys?.Forget(local, remote);
        return result;
    }

    private static RemoteUrl Inside(RemoteUrl dir, string name) => dir.WithPath(DestinationRule.Join(DestinationRule.Normalize(dir.Path), name));

    /// <summary>Whether the upload's destination is a directory on the server (a scheme that cannot list: assumed, the server said it is no file).</summary>
    private static async Task<bool> IsRemoteDirectoryAsync(ITransferClient client, RemoteUrl remote, ClientOptions options, CancellationToken token)
    {
        try
        {
            var stat = await RemoteTree.StatAsync(client, remote, DestinationRule.Normalize(remote.Path), options, token).ConfigureAwait(false);
            return stat.State == DestinationState.Directory;
        }
        catch (TransferException e) when (e.Code == ExitCode.Usage)
        {
            return true;
        }
    }

    private static async Task<int> SingleGetAsync(
        ParseResult parse, ProgressReporter reporter, ClientOptions options, RunState state, ITransferClient client, RemoteUrl remote, string local, string destination, CancellationToken token)
    {
        try
        {
            // The source may be a directory (the server says so instead of accepting): its tree is fetched by a job,
            // which reports its own start; this attempt's start is not printed until the file is on its way.
            reporter.HoldStartUntilUnderWay();
            var result = await reporter.RunAsync($"get {remote}", remote.ToString(), p => client.GetAsync(remote, local, options, p, token)).ConfigureAwait(false);
            reporter.Done(result);
            return (int)ExitCode.Ok;
        }
        catch (TransferException e) when (e.Failure == FailureKind.NotRegularFile)
        {
            reporter.WithdrawHeld();
            // The server says the source is no file: a directory is downloaded as a tree (anything else is refused by the planner).
            return await GetJobAsync(parse, options, state, [remote.ToString()], destination, token).ConfigureAwait(false);
        }
    }

    private static async Task<int> Single(ProgressReporter reporter, Task<TransferResult> transfer)
    {
        reporter.Done(await transfer.ConfigureAwait(false));
        return (int)ExitCode.Ok;
    }

    private static async Task<int> SendJobAsync(ParseResult parse, ClientOptions options, RunState state, string[] sources, RemoteUrl remote, CancellationToken token)
    {
        var client = TransferClients.For(remote);
        WarnIgnoredOptions(parse, remote.Scheme);
        state.Job = true;
        state.Sending = true;
        var jobs = new JobReporter(parse.GetValue(s_json), parse.GetValue(s_quiet), sources.Length == 1 ? $"send {sources[0]}" : $"send {sources.Length} sources", remote.ToString());
        JobRunner? runner = null;
        var carrier = JobCarriers.For(client, m => runner!.Warning(m), Parallel(parse));
        var plan = await JobPlanner.PlanUploadAsync(client, sources, remote, options, jobs.Notice, token).ConfigureAwait(false);
        runner = new JobRunner(plan, jobs);
        return (int)await jobs.RunAsync(() => runner.RunAsync(carrier, remote, options, token)).ConfigureAwait(false);
    }

    private static async Task<int> GetJobAsync(ParseResult parse, ClientOptions options, RunState state, string[] sources, string destination, CancellationToken token)
    {
        var urls = sources.Select(TransferClients.ParseUrl).ToList();
        var remote = urls[0];
        if (urls.FirstOrDefault(u => !string.Equals(u.Server, remote.Server, StringComparison.OrdinalIgnoreCase)) is { } other)
        {
            throw new TransferException(ExitCode.Usage, $"every source must be on one server: {other} is not on {remote.Server}");
        }

        var client = TransferClients.For(remote);
        WarnIgnoredOptions(parse, remote.Scheme);
        state.Job = true;
        var jobs = new JobReporter(parse.GetValue(s_json), parse.GetValue(s_quiet), sources.Length == 1 ? $"get {sources[0]}" : $"get {sources.Length} sources", remote.ToString());
        JobRunner? runner = null;
        var carrier = JobCarriers.For(client, m => runner!.Warning(m), Parallel(parse));
        var plan = await JobPlanner.PlanDownloadAsync(client, urls, destination, options, token).ConfigureAwait(false);
        if (urls.Count == 1 && plan.Entries.Count == 0 && plan.Complete.Count == 0 && plan.Failures is [{ } only])
        {
            // One source that the server refused outright (not found, outside the root, denied): nothing partial about
            // it, so it fails as the same download of one file would, whatever the destination.
            throw Failures.FromServer(only.Kind, only.Message);
        }

        runner = new JobRunner(plan, jobs);
        return (int)await jobs.RunAsync(() => runner.RunAsync(carrier, remote, options, token)).ConfigureAwait(false);
    }

    private static int Parallel(ParseResult parse)
    {
        int n = parse.GetValue(s_parallel);
        if (n is < 1 or > PerFileCarrier.MaxParallel)
        {
            throw new TransferException(ExitCode.Usage, $"--parallel must be from 1 to {PerFileCarrier.MaxParallel}");
        }

        return n;
    }

    private static void AddCommon(Command cmd)
    {
        foreach (var o in new Option[] { s_json, s_quiet, s_blksize, s_windowsize, s_parallel, s_limitRate })
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
        Func<ProgressReporter, ClientOptions, RunState, CancellationToken, Task<int>> body,
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
            return await body(reporter, options, state, ct).ConfigureAwait(false);
        }
        catch (TransferException e)
        {
            reporter.Error(e.Code, e.Message);
            return (int)e.Code;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            reporter.Error(ExitCode.Interrupted, state.Job
                ? "interrupted; run the same command again to go on: complete files are skipped" + (state.Resumable ? ", partial ones resume" : string.Empty)
                : reporter.InterruptedMessage(state.Sending, state.Resumable, state.WhyNoResume));
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

        long limitRate = 0;
        if (parse.GetResult(s_limitRate)?.GetValueOrDefault<string?>() is { } rateText && !RateLimits.TryParse(rateText, out limitRate, out string rateError))
        {
            throw new TransferException(ExitCode.Usage, $"--limit-rate {rateError}");
        }

        return new ClientOptions
        {
            Streams = parse.GetValue(s_streams),
            LimitRate = limitRate,
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

        /// <summary>A job of many files (a directory or several sources) was running.</summary>
        public bool Job { get; set; }
    }
}
