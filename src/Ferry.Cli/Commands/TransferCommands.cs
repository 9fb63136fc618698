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
    private static readonly Option<double?> s_timeout = new("--timeout") { Description = "Timeout in seconds: retransmission timeout (tftp://), idle timeout (udp://)" };
    private static readonly Option<double> s_connectTimeout = new("--connect-timeout") { Description = "Give up on a server that never answers the handshake after this many seconds", DefaultValueFactory = _ => ClientOptions.DefaultConnectTimeout.TotalSeconds };
    private static readonly Option<int> s_chunkSize = new("--chunk-size") { Description = "Chunk size in bytes (zmq://)", DefaultValueFactory = _ => 1 << 20 };
    private static readonly Option<int?> s_maxDatagram = new("--max-datagram") { Description = "Largest UDP payload in bytes (udp://); the default 1452 fits a 1500-byte MTU over IPv4 and IPv6" };
    private static readonly Option<string?> s_cc = new("--cc") { Description = "Congestion controller (udp://): bbr (default) or newreno" };
    private static readonly Option<string?> s_token = SecurityOptions.Token();
    private static readonly Option<string?> s_serverKey = SecurityOptions.ServerKey();
    private static readonly Option<bool> s_insecure = SecurityOptions.Insecure();

    public static Command Get()
    {
        var url = new Argument<string>("url") { Description = "Remote file, e.g. udp://host:7700/dir/file" };
        var dest = new Argument<string>("dest") { Description = "Local destination file (or directory)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the destination if it exists" };
        var cmd = new Command("get", "Download a file") { url, dest, overwrite };
        AddCommon(cmd);
        // The bodies return the reporter's task rather than awaiting it: one async state machine less each, and
        // fewer methods JIT-compiled before the first packet (RunAsync awaits, and catches, either way).
        cmd.SetAction((parse, ct) => RunAsync(parse, ct, (reporter, options, state, token) =>
        {
            var remote = TransferClients.ParseUrl(parse.GetValue(url)!);
            string local = LocalDestination(parse.GetValue(dest)!, remote);
            options.Overwrite = parse.GetValue(overwrite);
            var client = TransferClients.For(remote);
            state.Resumable = client.ResumesAfterInterruption;
            return reporter.RunAsync($"get {remote}", p => client.GetAsync(remote, local, options, p, token));
        }));
        return cmd;
    }

    public static Command Send()
    {
        var src = new Argument<string>("source") { Description = "Local file to upload" };
        var url = new Argument<string>("url") { Description = "Remote destination, e.g. udp://host:7700/dir/file" };
        var cmd = new Command("send", "Upload a file") { src, url };
        AddCommon(cmd);
        cmd.SetAction((parse, ct) => RunAsync(parse, ct, (reporter, options, state, token) =>
        {
            string local = parse.GetValue(src)!;
            var remote = TransferClients.ParseUrl(parse.GetValue(url)!);
            if (!File.Exists(local))
            {
                throw new TransferException(Directory.Exists(local) ? ExitCode.Usage : ExitCode.LocalIo,
                    Directory.Exists(local) ? $"'{local}' is a directory; ferry sends one file at a time" : $"'{local}' does not exist");
            }

            var client = TransferClients.For(remote);
            state.Resumable = client.ResumesAfterInterruption;
            state.Sending = true;
            return reporter.RunAsync($"send {Path.GetFileName(local)}", p => client.SendAsync(local, remote, options, p, token));
        }));
        return cmd;
    }

    private static void AddCommon(Command cmd)
    {
        foreach (var o in new Option[] { s_json, s_quiet, s_verbose, s_streams, s_blksize, s_windowsize, s_timeout, s_connectTimeout, s_chunkSize, s_maxDatagram, s_cc, s_token, s_serverKey, s_insecure })
        {
            cmd.Options.Add(o);
        }
    }

    private static string LocalDestination(string dest, Uri remote)
    {
        // "ferry get URL dir/" or an existing directory: keep the remote file name.
        if (Directory.Exists(dest) || dest.EndsWith('/'))
        {
            return Path.Combine(dest, Path.GetFileName(TransferClients.RemotePath(remote)));
        }

        return dest;
    }

    private static async Task<int> RunAsync(
        System.CommandLine.ParseResult parse,
        CancellationToken ct,
        Func<ProgressReporter, ClientOptions, RunState, CancellationToken, Task<TransferResult>> body)
    {
        var reporter = new ProgressReporter(parse.GetValue(s_json), parse.GetValue(s_quiet), static () => Console.Out);
        var options = new ClientOptions
        {
            Streams = parse.GetValue(s_streams),
            BlockSize = parse.GetValue(s_blksize),
            WindowSize = parse.GetValue(s_windowsize),
            ChunkSize = parse.GetValue(s_chunkSize),
            Timeout = parse.GetValue(s_timeout) is double t ? TimeSpan.FromSeconds(t) : null,
            ConnectTimeout = TimeSpan.FromSeconds(Math.Max(parse.GetValue(s_connectTimeout), 0.001)),
            MaxDatagram = parse.GetValue(s_maxDatagram),
            CongestionControl = parse.GetValue(s_cc),
            Token = parse.GetValue(s_token),
            ServerKey = parse.GetValue(s_serverKey),
            Insecure = parse.GetValue(s_insecure),
            Notice = message => Console.Error.WriteLine($"ferry: {message}"),
            Verbose = parse.GetValue(s_verbose) || string.Equals(Environment.GetEnvironmentVariable("FERRY_LOG"), "debug", StringComparison.OrdinalIgnoreCase)
                ? line => Console.Error.WriteLine($"ferry: {line}")
                : null,
        };
        var state = new RunState();
        try
        {
            if (parse.GetValue(s_connectTimeout) <= 0)
            {
                throw new TransferException(ExitCode.Usage, "--connect-timeout must be positive");
            }

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
            reporter.Error(ExitCode.Interrupted, reporter.InterruptedMessage(state.Sending, state.Resumable));
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

    /// <summary>What the catch blocks need to know about the transfer that was running.</summary>
    private sealed class RunState
    {
        public bool Resumable { get; set; } = true;

        public bool Sending { get; set; }
    }
}
