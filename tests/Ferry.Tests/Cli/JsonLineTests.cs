using System.Text.Json;
using Ferry.Cli.Output;
using Xunit;

namespace Ferry.Tests.Cli;

/// <summary>The --json events must stay byte for byte what <c>JsonSerializer</c> wrote before.</summary>
public sealed class JsonLineTests
{
    public static TheoryData<string> Texts => new()
    {
        "send one.bin",
        "get udp://127.0.0.1:7700/a b.bin",
        "quotes \" and \\ backslash, <html> & 'apostrophe' + plus",
        "control \u0001\t\n\r chars",
        "non-ASCII: é ü 日本 🚀",
        string.Empty,
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void StringsAreEscapedLikeTheSerializer(string text)
    {
        var fields = new Dictionary<string, object?> { ["event"] = "error", ["exit_code"] = 7, ["kind"] = "localio", ["message"] = text, [text] = text };
        Assert.Equal(JsonSerializer.Serialize(fields), JsonLine.Format(fields));
    }

    [Fact]
    public void NumbersNullsAndStatsMatchTheSerializer()
    {
        var fields = new Dictionary<string, object?>
        {
            ["event"] = "done",
            ["bytes"] = 1L << 40,
            ["seconds"] = Math.Round(1.23456789, 6),
            ["tiny"] = 1e-7,
            ["whole"] = 3.0,
            ["negative"] = -0.5,
            ["huge"] = 1.7976931348623157e308,
            ["sha256"] = null,
            ["resumed_bytes"] = 0L,
            ["packets_lost"] = long.MinValue,
            ["flag"] = true,
            ["other"] = new[] { 1, 2 },
        };
        Assert.Equal(JsonSerializer.Serialize(fields), JsonLine.Format(fields));
    }

    [Fact]
    public void NonFiniteNumbersAreRefusedLikeTheSerializer()
    {
        var fields = new Dictionary<string, object?> { ["seconds"] = double.NaN };
        Assert.ThrowsAny<ArgumentException>(() => JsonSerializer.Serialize(fields));
        Assert.ThrowsAny<ArgumentException>(() => JsonLine.Format(fields));
    }
}
