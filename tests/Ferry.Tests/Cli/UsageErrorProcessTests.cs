using System.Text.Json;
using Ferry.Tests.Support;

namespace Ferry.Tests.Cli;

/// <summary>
/// Command lines the parser refuses, through the real <c>ferry</c>: exit code 2, a short message on stderr that names
/// the bad argument and points to <c>--help</c> (not the whole help, no .NET type names), and with <c>--json</c> one
/// <c>error</c> event on stdout and nothing else there.
/// </summary>
public sealed class UsageErrorProcessTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(1);

    public static TheoryData<string[], string, string> Cases => new()
    {
        { ["send", "--overwrite"], "unknown option '--overwrite'", "ferry send --help" },
        { ["send", "a.bin"], "missing <url>", "ferry send --help" },
        { ["get", "udp://127.0.0.1:1/x"], "missing <dest>", "ferry get --help" },
        { ["get", "udp://127.0.0.1:1/x", "--bogus"], "unknown option '--bogus'", "ferry get --help" },
        { ["chat", "127.0.0.1:1"], "missing --user", "ferry chat --help" },
        { ["bogus"], "unknown command 'bogus'", "ferry --help" },
        { ["send", "a.bin", "udp://127.0.0.1:1/x", "--streams", "abc"], "--streams: 'abc' is not a whole number", "ferry send --help" },
        { ["send", "a.bin", "udp://127.0.0.1:1/x", "--timeout", "soon"], "--timeout: 'soon' is not a number", "ferry send --help" },
    };

    /// <summary>Commands without --json (there, --json itself is an unknown option).</summary>
    public static TheoryData<string[], string, string> CasesWithoutJson => new()
    {
        { ["token", "create", "--root", "/nonexistent"], "missing --name", "ferry token create --help" },
        { ["token"], "missing a command (one of: create, list, revoke)", "ferry token --help" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    [MemberData(nameof(CasesWithoutJson))]
    public async Task A_usage_error_exits_2_with_one_short_message_naming_the_argument(string[] args, string message, string help)
    {
        using var ferry = new FerryProcess(args);
        Assert.Equal(2, await ferry.WaitExitAsync(s_limit));
        string stderr = ferry.StandardError;
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Contains(help, stderr, StringComparison.Ordinal);
        AssertShort(stderr);
        Assert.Empty(ferry.OutputLines);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Under_json_a_usage_error_is_one_error_event_and_nothing_else_on_stdout(string[] args, string message, string help)
    {
        using var ferry = new FerryProcess([.. args, "--json"]);
        Assert.Equal(2, await ferry.WaitExitAsync(s_limit));
        string line = Assert.Single(ferry.OutputLines);
        var error = JsonDocument.Parse(line).RootElement;
        Assert.Equal("error", error.GetProperty("event").GetString());
        Assert.Equal(2, error.GetProperty("exit_code").GetInt32());
        Assert.Equal("usage", error.GetProperty("kind").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(help, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        AssertShort(ferry.StandardError);
    }

    [Fact]
    public async Task After_a_double_dash_a_name_that_starts_with_dashes_is_an_argument()
    {
        string missing = "--no-such-file-" + Guid.NewGuid().ToString("N");
        using var ferry = new FerryProcess("send", "--", missing, "udp://127.0.0.1:1/x");
        Assert.Equal(6, await ferry.WaitExitAsync(s_limit));
        Assert.Contains($"'{missing}' does not exist", ferry.StandardError, StringComparison.Ordinal);
    }

    private static void AssertShort(string stderr)
    {
        Assert.True(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 2, stderr);
        Assert.DoesNotContain("System.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Description:", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Options:", stderr, StringComparison.Ordinal);
    }
}
