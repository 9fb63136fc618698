using Ferry.Cli.Commands;
using Ferry.Protocol.Listing;

namespace Ferry.Tests.Cli;

/// <summary>How <c>ferry ls</c> prints entries: names made safe for a terminal, ls-style modes, NDJSON.</summary>
public sealed class LsFormatTests
{
    [Fact]
    public void Control_characters_in_names_cannot_reach_the_terminal()
    {
        var evil = new ListingEntry(ListingEntryType.File, 0x1A4, 1, 0, "a\u001b[31mred\rb\n");
        foreach (bool longFormat in new[] { false, true })
        {
            string line = Assert.Single(LsCommand.Format([evil], longFormat, json: false));
            Assert.DoesNotContain(line, char.IsControl);
            Assert.Contains("[31mred", line, StringComparison.Ordinal);
        }

        string json = Assert.Single(LsCommand.Format([evil], longFormat: false, json: true));
        Assert.Contains("\\u001B[31mred\\rb\\n", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ListingEntryType.Directory, 0x1ED, "drwxr-xr-x")]
    [InlineData(ListingEntryType.File, 0x1A4, "-rw-r--r--")]
    [InlineData(ListingEntryType.Symlink, 0x1FF, "lrwxrwxrwx")]
    [InlineData(ListingEntryType.Other, 0x180, "?rw-------")]
    [InlineData(ListingEntryType.File, 0x049, "---x--x--x")]
    public void Modes_read_as_ls_writes_them(ListingEntryType type, int mode, string expected)
    {
        Assert.Equal(expected, LsCommand.ModeString(new ListingEntry(type, mode, 0, 0, "x")));
    }

    [Fact]
    public void Directories_end_in_a_slash_and_sizes_align_in_long_format()
    {
        ListingEntry[] entries =
        [
            new(ListingEntryType.Directory, 0x1ED, 0, 0, "d"),
            new(ListingEntryType.File, 0x1A4, 12345, 86_400_000, "f"),
        ];
        Assert.Equal(["d/", "f"], LsCommand.Format(entries, longFormat: false, json: false));
        Assert.Equal(
            ["drwxr-xr-x      0  1970-01-01T00:00:00Z  d/", "-rw-r--r--  12345  1970-01-02T00:00:00Z  f"],
            LsCommand.Format(entries, longFormat: true, json: false));
    }
}
