using Ferry.Cli.Output;
using Xunit;

namespace Ferry.Tests.Cli;

/// <summary>The progress line fits any terminal width and drops fields, least useful first, as the width shrinks.</summary>
public sealed class ProgressLineTests
{
    private const long MiB = 1 << 20;
    private const string Name = "get udp://127.0.0.1:17001/isos/big.bin";

    public static TheoryData<int> Widths => [20, 40, 60, 80, 100, 200];

    private static IEnumerable<ProgressView> States()
    {
        yield return new ProgressView(Name, 90 * MiB, 200 * MiB, 12.5e6, TimeSpan.FromSeconds(7));
        yield return new ProgressView(Name, 0, 200 * MiB, 0, TimeSpan.Zero);
        yield return new ProgressView(Name, 200 * MiB, 200 * MiB, 812e6, TimeSpan.FromSeconds(2));
        yield return new ProgressView(Name, 0, 0, 0, TimeSpan.Zero);
        yield return new ProgressView(Name, 3 * MiB, -1, 1e6, TimeSpan.FromSeconds(1.3));
        yield return new ProgressView(Name, 1023 * 1024L * MiB, 5000L * 1024 * MiB, 1, TimeSpan.FromHours(3));
        yield return new ProgressView(new string('x', 500), long.MaxValue / 2, long.MaxValue, 9e12, TimeSpan.MaxValue);
        yield return new ProgressView("send 写真アルバム😀😀😀😀😀😀😀😀😀😀.tar", 5 * MiB, 10 * MiB, 1e6, TimeSpan.FromSeconds(5));
        yield return new ProgressView(Name, 0, -1, 0, TimeSpan.Zero, "connecting to 127.0.0.1:17001…");
        yield return new ProgressView(string.Empty, 1, 2, 1, TimeSpan.FromSeconds(1));
        yield return new ProgressView("backup/photos/2024/IMG_0001.jpg", 5 * MiB, 10 * MiB, 1e6, TimeSpan.FromSeconds(5), Counter: "1234/10004 files");
    }

    [Fact]
    public void A_job_shows_its_file_count_beside_the_percentage_and_keeps_it_longer_than_the_byte_counts()
    {
        var view = new ProgressView("backup/photos/IMG_0001.jpg", 5 * MiB, 10 * MiB, 1e6, TimeSpan.FromSeconds(5), Counter: "3/10 files");
        string wide = ProgressLine.Render(120, view);
        Assert.Contains(" 50%  3/10 files  ", wide, StringComparison.Ordinal);
        Assert.Contains("IMG_0001.jpg", wide, StringComparison.Ordinal);
        Assert.Contains("ETA", wide, StringComparison.Ordinal);

        string narrow = ProgressLine.Render(40, view);
        Assert.Contains("3/10 files", narrow, StringComparison.Ordinal);
        Assert.DoesNotContain("MiB", narrow, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void The_line_never_exceeds_the_width(int width)
    {
        foreach (var state in States())
        {
            string line = ProgressLine.Render(width, state);
            Assert.True(ProgressLine.DisplayWidth(line) <= width, $"{ProgressLine.DisplayWidth(line)} > {width}: '{line}'");
            Assert.NotEmpty(line);
        }
    }

    [Fact]
    public void Every_width_from_one_to_250_fits()
    {
        foreach (var state in States())
        {
            for (int width = 1; width <= 250; width++)
            {
                string line = ProgressLine.Render(width, state);
                Assert.True(ProgressLine.DisplayWidth(line) <= width, $"{ProgressLine.DisplayWidth(line)} > {width}: '{line}'");
            }
        }
    }

    [Theory]
    [InlineData(20, new[] { "45%", "[" }, new[] { "MiB", "bit/s", "ETA", "big.bin" })]
    [InlineData(40, new[] { "45%", "[", "90.0/200.0 MiB" }, new[] { "bit/s", "ETA", "big.bin" })]
    [InlineData(60, new[] { "45%", "[", "90.0/200.0 MiB", "100.0 Mbit/s" }, new[] { "ETA", "big.bin" })]
    [InlineData(80, new[] { "45%", "[", "90.0/200.0 MiB", "100.0 Mbit/s", "ETA 0:10", "…", "big.bin" }, new string[0])]
    [InlineData(200, new[] { Name, "45%", "[", "90.0/200.0 MiB", "100.0 Mbit/s", "ETA 0:10" }, new[] { "…" })]
    public void Fields_are_dropped_as_the_terminal_narrows(int width, string[] shown, string[] dropped)
    {
        string line = ProgressLine.Render(width, new ProgressView(Name, 90 * MiB, 200 * MiB, 12.5e6, TimeSpan.FromSeconds(7)));
        foreach (string s in shown)
        {
            Assert.Contains(s, line, StringComparison.Ordinal);
        }

        foreach (string s in dropped)
        {
            Assert.DoesNotContain(s, line, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void A_status_replaces_the_bar(int width)
    {
        const string status = "connecting to 127.0.0.1:17001…";
        string line = ProgressLine.Render(width, new ProgressView(Name, 0, -1, 0, TimeSpan.Zero, status));
        if (width >= status.Length)
        {
            Assert.EndsWith(status, line, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(status[..(width - 1)] + "…", line);
        }

        Assert.DoesNotContain("[", line, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_size_shows_the_bytes_moved_and_no_percentage()
    {
        string line = ProgressLine.Render(80, new ProgressView(Name, 3 * MiB, -1, 1e6, TimeSpan.FromSeconds(1)));
        Assert.Contains("3.0 MiB", line, StringComparison.Ordinal);
        Assert.Contains("8.0 Mbit/s", line, StringComparison.Ordinal);
        Assert.DoesNotContain("%", line, StringComparison.Ordinal);
        Assert.DoesNotContain("ETA", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_characters_in_the_name_cannot_reach_the_terminal()
    {
        string line = ProgressLine.Render(120, new ProgressView("get tftp://h/\u001b[2J\u001b]0;owned\u0007x", 1, 2, 1, TimeSpan.FromSeconds(1)));
        Assert.DoesNotContain(line, char.IsControl);
    }

    [Fact]
    public void A_long_name_keeps_its_start_and_its_end()
    {
        Assert.Equal("get …/big.bin", ProgressLine.Shorten("get udp://127.0.0.1:17001/isos/big.bin", 13));
        Assert.Equal("get udp:…/big.bin", ProgressLine.Shorten("get udp://10.77.77.2:17431/big.bin", 17));
        Assert.Equal("…", ProgressLine.Shorten("abc", 1));
        Assert.Equal("abc", ProgressLine.Shorten("abc", 3));
        Assert.Equal(4, ProgressLine.DisplayWidth("写真"));
        Assert.True(ProgressLine.DisplayWidth(ProgressLine.Shorten("写真写真写真写真", 6)) <= 6);
    }
}
