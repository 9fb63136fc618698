using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ferry.Protocol.Relay;
using Ferry.Transfers;

namespace Ferry.Tests.Relay;

/// <summary>The real <c>ferry chat</c> executable against a relay listener on 127.0.0.1 (ephemeral port).</summary>
public sealed class ChatCommandTests : IDisposable
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(60);
    private readonly string _stateDir = RelayTestServer.NewStateDir();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_stateDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Write_FromPipedStdin_ExitsZeroAfterEof_WithEveryLineStored()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        var lines = RelaySimulationTests.Lines("piped", 0, 500).ToList();
        using var chat = new ChatProcess($"127.0.0.1:{server.Port}", "--user", "carol", "--write");
        foreach (var line in lines)
        {
            await chat.StandardInput.WriteLineAsync(line);
        }

        chat.StandardInput.Close();
        Assert.Equal(0, await chat.WaitExitAsync(s_limit));

        // Exit 0 promises every line was acknowledged, i.e. durably stored: read them back from the start.
        Assert.Equal(lines.Count, server.Listener.Store.LastSeq);
        await using var reader = await server.ConnectAsync("check", write: false, since: RelaySinceKind.Sequence, sinceValue: 1);
        var got = new List<RelayMessage>();
        while (got.Count < lines.Count)
        {
            got.Add(await reader.ReadAsync(RelayTestServer.Timeout()));
        }

        RelaySimulationTests.AssertExactlyOnceInOrder(got, 1);
        Assert.Equal(lines, got.Select(m => m.Text));
        Assert.All(got, m => Assert.Equal("carol", m.Author));
    }

    [Fact]
    public async Task Write_LineOverTheLimit_StopsWithAnErrorAndSendsNothingAfterIt()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        using var chat = new ChatProcess($"127.0.0.1:{server.Port}", "--user", "long", "--write");
        await chat.StandardInput.WriteLineAsync("first");
        await chat.StandardInput.WriteLineAsync(new string('x', RelayWire.MaxTextBytes + 1));
        await chat.StandardInput.WriteLineAsync("never");
        chat.StandardInput.Close();
        Assert.Equal((int)ExitCode.Failure, await chat.WaitExitAsync(s_limit));
        Assert.Contains($"line 2 is {RelayWire.MaxTextBytes + 1} bytes", chat.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, server.Listener.Store.LastSeq);
    }

    [Fact]
    public async Task Read_WithStdoutRedirected_PrintsOneLinePerMessage()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        await using (var writer = await server.ConnectAsync("dave", read: false))
        {
            await writer.PostAsync("hello", RelayTestServer.Timeout());
            await writer.PostAsync("a line with  two spaces and ünïcode", RelayTestServer.Timeout());
            await writer.PostAsync("bell\u0007 and escape\u001b[2J", RelayTestServer.Timeout());
            await writer.FlushAsync(RelayTestServer.Timeout());
        }

        using var chat = new ChatProcess($"127.0.0.1:{server.Port}", "--user", "erin", "--read", "--since", "1");
        var lines = await chat.WaitForLinesAsync(3, s_limit);
        var format = new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z #(\d+) dave: (.*)$");
        var parsed = lines.Take(3).Select(l => format.Match(l)).ToList();
        Assert.All(parsed, m => Assert.True(m.Success, $"unexpected line format: {m.Value}"));
        Assert.Equal(["1", "2", "3"], parsed.Select(m => m.Groups[1].Value));
        Assert.Equal("hello", parsed[0].Groups[2].Value);
        Assert.Equal("a line with  two spaces and ünïcode", parsed[1].Groups[2].Value);

        // Control characters from a writer never reach the reader's terminal.
        Assert.Equal("bell\uFFFD and escape\uFFFD[2J", parsed[2].Groups[2].Value);

        // Live messages follow the history, still one line each.
        await using (var writer = await server.ConnectAsync("dave", read: false))
        {
            await writer.PostAsync("live", RelayTestServer.Timeout());
            await writer.FlushAsync(RelayTestServer.Timeout());
        }

        lines = await chat.WaitForLinesAsync(4, s_limit);
        Assert.EndsWith("#4 dave: live", lines[3], StringComparison.Ordinal);
        chat.Interrupt();
        Assert.Equal((int)ExitCode.Interrupted, await chat.WaitExitAsync(s_limit));
        Assert.Equal(4, chat.Lines.Count);
    }

    [Fact]
    public async Task Json_PrintsOneNdjsonObjectPerMessage()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        await using (var writer = await server.ConnectAsync("frank", read: false))
        {
            await writer.PostAsync("one", RelayTestServer.Timeout());
            await writer.PostAsync("two \"quoted\" \\ and\ttab", RelayTestServer.Timeout());
            await writer.FlushAsync(RelayTestServer.Timeout());
        }

        using var chat = new ChatProcess($"127.0.0.1:{server.Port}", "--user", "gina", "--read", "--json", "--since", "1");
        var lines = await chat.WaitForLinesAsync(2, s_limit);
        var objects = lines.Take(2).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1L, 2L], objects.Select(o => o.GetProperty("seq").GetInt64()));
        Assert.All(objects, o => Assert.Equal("frank", o.GetProperty("user").GetString()));
        Assert.Equal(["one", "two \"quoted\" \\ and\ttab"], objects.Select(o => o.GetProperty("text").GetString()));
        Assert.All(objects, o => Assert.True(DateTimeOffset.TryParse(o.GetProperty("time").GetString(), out _)));

        // Nothing but NDJSON on stdout (the "registered" notice is not printed in --json mode).
        chat.Interrupt();
        await chat.WaitExitAsync(s_limit);
        Assert.All(chat.Lines, l => Assert.StartsWith("{", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task NameInUse_ExitsWithRefusedCode_AndSaysWhy()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        await using var holder = await server.ConnectAsync("henry");
        using var chat = new ChatProcess($"127.0.0.1:{server.Port}", "--user", "henry", "--write");
        chat.StandardInput.Close();
        Assert.Equal((int)ExitCode.Refused, await chat.WaitExitAsync(s_limit));
        Assert.Contains("the name 'henry' is in use by a live session", chat.StandardError, StringComparison.Ordinal);
        Assert.Empty(chat.Lines);
    }

    [TmuxFact]
    public async Task Interactive_ArrivingMessages_KeepTheWrappedInputLineIntact()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        string socket = "ferry-test-" + Guid.NewGuid().ToString("N")[..8];
        string ferry = Path.Combine(AppContext.BaseDirectory, "ferry.dll");
        try
        {
            Tmux(socket, "new-session", "-d", "-s", "chat", "-x", "60", "-y", "15", $"dotnet {ferry} chat 127.0.0.1:{server.Port} --user ivy --server-key {Ferry.Tests.Support.TestSecurity.ServerKey.Fingerprint}; sleep 60");
            await WaitForScreenAsync(socket, s => s.StartsWith('>'));

            // Typing works once a key echoes (the terminal switch at start-up may drop a key sent in the same instant);
            // Ctrl+U then clears whatever the probes left.
            await ProbeKeysAsync(socket);
            Tmux(socket, "send-keys", "-t", "chat", "C-u");
            await WaitForScreenAsync(socket, s => s.TrimEnd() == ">");

            // 100 characters: the prompt and input wrap onto a second row of the 60-column terminal.
            string typed = "the quick brown fox jumps over the lazy dog and keeps running across the whole wide field ok";
            Tmux(socket, "send-keys", "-t", "chat", "-l", typed);
            await WaitForScreenAsync(socket, s => Unwrap(s).Contains(typed, StringComparison.Ordinal));
            await using (var writer = await server.ConnectAsync("jack", read: false))
            {
                await writer.PostAsync("arrives while ivy types", RelayTestServer.Timeout());
                await writer.FlushAsync(RelayTestServer.Timeout());
            }

            string screen = await WaitForScreenAsync(socket, s => s.Contains("jack: arrives while ivy types", StringComparison.Ordinal));
            var rows = screen.Split('\n').Select(r => r.TrimEnd()).Where(r => r.Length > 0).ToList();

            // The message sits above the input, and the input (both rows) is intact below it: no half-erased leftovers.
            Assert.Equal(3, rows.Count);
            Assert.Contains("#1 jack: arrives while ivy types", rows[0], StringComparison.Ordinal);
            Assert.Equal("> " + typed, rows[1] + rows[2]);

            // Enter sends it; it comes back as ivy's message and the prompt is empty again.
            Tmux(socket, "send-keys", "-t", "chat", "Enter");
            screen = await WaitForScreenAsync(socket, s => Unwrap(s).Contains("ivy: " + typed, StringComparison.Ordinal));
            rows = screen.Split('\n').Select(r => r.TrimEnd()).Where(r => r.Length > 0).ToList();
            Assert.Equal(">", rows[^1]);
        }
        finally
        {
            Tmux(socket, "kill-server");
        }
    }

    private static async Task ProbeKeysAsync(string socket)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < s_limit)
        {
            Tmux(socket, "send-keys", "-t", "chat", "-l", "x");
            var echoed = Stopwatch.StartNew();
            while (echoed.Elapsed < TimeSpan.FromSeconds(3))
            {
                if (Tmux(socket, "capture-pane", "-p", "-t", "chat").StartsWith("> x", StringComparison.Ordinal))
                {
                    return;
                }

                await Task.Delay(50);
            }
        }

        throw new TimeoutException("keys sent to the chat never echoed");
    }

    private static string Unwrap(string screen) => string.Concat(screen.Split('\n').Select(r => r.TrimEnd()));

    private static async Task<string> WaitForScreenAsync(string socket, Func<string, bool> match)
    {
        var deadline = Stopwatch.StartNew();
        string screen = string.Empty;
        while (deadline.Elapsed < s_limit)
        {
            screen = Tmux(socket, "capture-pane", "-p", "-t", "chat");
            if (match(screen))
            {
                return screen;
            }

            // Polling a terminal has no event to wait on; the deadline bounds it.
            await Task.Delay(50);
        }

        throw new TimeoutException($"screen never matched; last screen:\n{screen}");
    }

    private static string Tmux(string socket, params string[] args)
    {
        var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-L");
        psi.ArgumentList.Add(socket);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 || args[0] == "kill-server" ? output : $"tmux {args[0]} failed: {error.Result}";
    }
}
