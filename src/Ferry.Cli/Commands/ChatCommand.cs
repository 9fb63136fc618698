using System.CommandLine;
using System.Globalization;
using Ferry.Cli.Output;
using Ferry.Protocol.Relay;
using Ferry.Relay;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary><c>ferry chat HOST:PORT --user NAME</c>: read and/or write lines through the message relay.</summary>
internal static class ChatCommand
{
    private const int DefaultPort = 7703;

    public static Command Create()
    {
        var server = new Argument<string>("server") { Description = "Relay server, HOST[:PORT] or [IPv6]:PORT (default port 7703)" };
        var user = new Option<string>("--user", "-u") { Description = "Your user name (1..32 UTF-8 bytes, no spaces)", Required = true };
        var read = new Option<bool>("--read") { Description = "Only read (default: read and write)" };
        var write = new Option<bool>("--write") { Description = "Only write: lines from stdin; with a pipe, exits once every line is acknowledged" };
        var delay = new Option<double>("--delay") { Description = "Receive messages in batches every S seconds" };
        var since = new Option<long?>("--since") { Description = "Replay history from sequence number SEQ, then follow live" };
        var sinceTime = new Option<string?>("--since-time") { Description = "Replay history from an ISO 8601 time (e.g. 2025-01-31T12:00:00Z), then follow live" };
        var token = SecurityOptions.Token();
        var serverKey = SecurityOptions.ServerKey(zmq: false);
        var insecure = SecurityOptions.Insecure();
        var json = new Option<bool>("--json") { Description = "Print one NDJSON object per message ({seq,time,user,text})" };
        var cmd = new Command("chat", "Read and write lines through the message relay of 'ferry serve' (UDP 7703)")
        {
            server, user, read, write, delay, since, sinceTime, json, token, serverKey, insecure,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            try
            {
                var (host, port) = ParseServer(parse.GetValue(server)!);
                bool readOnly = parse.GetValue(read), writeOnly = parse.GetValue(write);
                bool reading = readOnly || !writeOnly;
                bool writing = writeOnly || !readOnly;
                var options = new RelayChatOptions
                {
                    User = parse.GetValue(user)!,
                    Read = reading,
                    Write = writing,
                    Delay = Delay(parse.GetValue(delay)),
                    SinceKind = parse.GetValue(since) is not null ? RelaySinceKind.Sequence : parse.GetValue(sinceTime) is not null ? RelaySinceKind.Time : RelaySinceKind.Live,
                    SinceValue = parse.GetValue(since) ?? SinceTime(parse.GetValue(sinceTime)),
                    Token = parse.GetValue(token),
                    ServerKey = parse.GetValue(serverKey),
                    Insecure = parse.GetValue(insecure),
                    Notice = message => Console.Error.WriteLine($"ferry: {message}"),
                };
                if (parse.GetValue(since) is not null && parse.GetValue(sinceTime) is not null)
                {
                    throw new TransferException(ExitCode.Usage, "--since and --since-time exclude each other");
                }

                if (!reading && (options.SinceKind != RelaySinceKind.Live || options.Delay > TimeSpan.Zero))
                {
                    throw new TransferException(ExitCode.Usage, "--since, --since-time and --delay are for reading; drop --write");
                }

                // Ctrl+C / SIGTERM (handled once, in Program) cancel ct; the session then ends cleanly with a BYE that
                // frees the name at once.
                using var interrupted = CancellationTokenSource.CreateLinkedTokenSource(ct);
                return await RunAsync(host, port, options, parse.GetValue(json), interrupted.Token).ConfigureAwait(false);
            }
            catch (TransferException e)
            {
                Console.Error.WriteLine($"ferry: {e.Message}");
                return (int)e.Code;
            }
            catch (OperationCanceledException)
            {
                return (int)ExitCode.Interrupted;
            }
        });
        return cmd;
    }

    /// <summary>Parses HOST[:PORT] and [IPv6]:PORT.</summary>
    internal static (string Host, int Port) ParseServer(string text)
    {
        string host = text;
        string? port = null;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new TransferException(ExitCode.Usage, $"'{text}': missing ']' after the IPv6 address");
            }

            host = text[1..close];
            if (close + 1 < text.Length)
            {
                if (text[close + 1] != ':')
                {
                    throw new TransferException(ExitCode.Usage, $"'{text}': expected ':PORT' after ']'");
                }

                port = text[(close + 2)..];
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            host = text[..colon];
            port = text[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            throw new TransferException(ExitCode.Usage, $"'{text}' names no host; expected HOST:PORT, e.g. 127.0.0.1:7703");
        }

        if (port is null)
        {
            return (host, DefaultPort);
        }

        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
        {
            throw new TransferException(ExitCode.Usage, $"'{port}' is not a port (1..65535)");
        }

        return (host, p);
    }

    private static TimeSpan Delay(double seconds)
    {
        if (seconds < 0 || seconds * 1000 > RelayWire.MaxDelayMillis || double.IsNaN(seconds))
        {
            throw new TransferException(ExitCode.Usage, $"--delay must be between 0 and {RelayWire.MaxDelayMillis / 1000} seconds");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private static long SinceTime(string? text)
    {
        if (text is null)
        {
            return 0;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
        {
            throw new TransferException(ExitCode.Usage, $"--since-time '{text}' is not an ISO 8601 time, e.g. 2025-01-31T12:00:00Z");
        }

        return t.ToUnixTimeMilliseconds();
    }

    private static async Task<int> RunAsync(string host, int port, RelayChatOptions options, bool json, CancellationToken ct)
    {
        bool interactive = options.Read && options.Write && !json && !Console.IsInputRedirected && !Console.IsOutputRedirected;
        await using var client = await RelayChatClient.ConnectAsync(host, port, options, ct).ConfigureAwait(false);
        var console = interactive ? new ChatConsole() : null;
        client.OnNotice = e =>
        {
            string text = e.Kind switch
            {
                RelayClientEventKind.Reregistered => "ferry: the relay server restarted; registered again, continuing",
                RelayClientEventKind.HistoryPruned => $"ferry: messages #{e.From}..#{e.To - 1} were removed by the server's retention before they could be read",
                _ => string.Empty,
            };
            if (text.Length > 0)
            {
                if (console is not null)
                {
                    console.WriteLine(text);
                }
                else
                {
                    Console.Error.WriteLine(text);
                }
            }
        };

        if (!interactive && !json)
        {
            var info = client.Info;
            Console.Error.WriteLine($"ferry: registered as '{options.User}' on {host}:{port}"
                + (options.Read ? $", reading from #{info.ReaderStart} (history #{info.FirstSeq}..#{info.LastSeq})" : string.Empty));
        }

        using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task<int>? readTask = options.Read ? ReadLoopAsync(client, console, json, done.Token) : null;
        try
        {
            if (!options.Write)
            {
                return await readTask!.ConfigureAwait(false);
            }

            int writeResult = console is not null
                ? await InteractiveWriteLoopAsync(client, console, done.Token).ConfigureAwait(false)
                : await PipeWriteLoopAsync(client, done.Token).ConfigureAwait(false);
            if (writeResult != 0 || readTask is null || console is not null)
            {
                // Interactive: Ctrl+D ends the whole session.
                return writeResult;
            }

            // Reading and writing from a pipe: stdin ended, keep reading until interrupted.
            return await readTask.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            int left = client.Unacknowledged;
            console?.Clear();
            if (left > 0)
            {
                Console.Error.WriteLine($"ferry: interrupted; {left} line(s) were not acknowledged by the server and may not have been stored");
            }

            return (int)ExitCode.Interrupted;
        }
        finally
        {
            done.Cancel();
            if (readTask is not null)
            {
                try
                {
                    await readTask.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
                catch (TransferException)
                {
                }
            }
        }
    }

    private static async Task<int> ReadLoopAsync(RelayChatClient client, ChatConsole? console, bool json, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var m = await client.ReadAsync(ct).ConfigureAwait(false);
                if (console is not null)
                {
                    console.WriteLine(ChatFormatter.Plain(m, localTime: true));
                }
                else
                {
                    Console.Out.WriteLine(json ? ChatFormatter.Json(m) : ChatFormatter.Plain(m, localTime: false));
                    Console.Out.Flush();
                }
            }
        }
        catch (TransferException e)
        {
            console?.Clear();
            Console.Error.WriteLine($"ferry: {e.Message}");
            return (int)e.Code;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return (int)ExitCode.Interrupted;
        }
    }

    private static async Task<int> InteractiveWriteLoopAsync(RelayChatClient client, ChatConsole console, CancellationToken ct)
    {
        console.Start();
        await foreach (var line in console.Lines.ReadAllAsync(ct).ConfigureAwait(false))
        {
            if (line is null)
            {
                break;
            }

            if (RelayClient.LineBytes(line) > RelayWire.MaxTextBytes)
            {
                console.WriteLine($"ferry: that line is {RelayClient.LineBytes(line)} bytes; the relay carries at most {RelayWire.MaxTextBytes} UTF-8 bytes per line. Not sent.");
                continue;
            }

            await client.PostAsync(line, ct).ConfigureAwait(false);
        }

        console.Clear();
        await FlushWithNoticeAsync(client, ct).ConfigureAwait(false);
        return (int)ExitCode.Ok;
    }

    private static async Task<int> PipeWriteLoopAsync(RelayChatClient client, CancellationToken ct)
    {
        long lineNumber = 0;
        while (await Console.In.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            int bytes = RelayClient.LineBytes(line);
            if (bytes > RelayWire.MaxTextBytes)
            {
                // Never truncate: stop here, make sure everything before it is stored, and say so.
                await FlushWithNoticeAsync(client, ct).ConfigureAwait(false);
                string sent = lineNumber == 1 ? "nothing was sent" : $"lines 1..{lineNumber - 1} were sent and acknowledged, line {lineNumber} and later were not sent";
                Console.Error.WriteLine($"ferry: line {lineNumber} is {bytes} bytes; the relay carries at most {RelayWire.MaxTextBytes} UTF-8 bytes per line. Stopped: {sent}.");
                return (int)ExitCode.Failure;
            }

            try
            {
                await client.PostAsync(line, ct).ConfigureAwait(false);
            }
            catch (TransferException e)
            {
                Console.Error.WriteLine($"ferry: {e.Message}");
                return (int)e.Code;
            }
        }

        return await FlushWithNoticeAsync(client, ct).ConfigureAwait(false);
    }

    private static async Task<int> FlushWithNoticeAsync(RelayChatClient client, CancellationToken ct)
    {
        try
        {
            await client.FlushAsync(ct).ConfigureAwait(false);
            return (int)ExitCode.Ok;
        }
        catch (TransferException e)
        {
            Console.Error.WriteLine($"ferry: {e.Message}; {client.Unacknowledged} line(s) were not acknowledged");
            return (int)e.Code;
        }
    }
}
