using Ferry.Files;
using Ferry.Protocol.Listing;

namespace Ferry.Tests.Files;

/// <summary>The file engine's listing: types, recursion, hidden temp names, symlinks never followed, the jail.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ListingTests : IDisposable
{
    private readonly EngineFixture _fx = new();

    public ListingTests()
    {
        Directory.CreateDirectory(_fx.InRoot("dir/deep"));
        File.WriteAllText(_fx.InRoot("a.txt"), "hello");
        File.WriteAllText(_fx.InRoot("dir/b.bin"), "xy");
        File.WriteAllText(_fx.InRoot("dir/deep/c"), "c");
        File.WriteAllText(_fx.InRoot("dir-x"), string.Empty);
        File.SetUnixFileMode(_fx.InRoot("a.txt"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        File.SetLastWriteTimeUtc(_fx.InRoot("a.txt"), new DateTime(2024, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc));
    }

    public void Dispose() => _fx.Dispose();

    private static string[] Names(IEnumerable<ListingEntry> entries) => entries.Select(e => e.Name).ToArray();

    [Fact]
    public void Root_lists_its_entries_with_type_size_mode_and_mtime()
    {
        var entries = _fx.Engine.List(string.Empty, recursive: false);

        Assert.Equal(["a.txt", "dir", "dir-x"], Names(entries));
        var a = entries[0];
        Assert.Equal(ListingEntryType.File, a.Type);
        Assert.Equal(5, a.Size);
        Assert.Equal(Convert.ToInt32("640", 8), a.Mode);
        Assert.Equal(new DateTimeOffset(2024, 5, 6, 7, 8, 9, 123, TimeSpan.Zero).ToUnixTimeMilliseconds(), a.MtimeUnixMs);
        Assert.Equal(ListingEntryType.Directory, entries[1].Type);
        Assert.Equal(0, entries[1].Size);
    }

    [Fact]
    public void Recursive_lists_every_level_with_names_relative_to_the_listed_directory()
    {
        Assert.Equal(["a.txt", "dir", "dir/b.bin", "dir/deep", "dir/deep/c", "dir-x"], Names(_fx.Engine.List(string.Empty, recursive: true)));
        Assert.Equal(["b.bin", "deep", "deep/c"], Names(_fx.Engine.List("dir", recursive: true)));
        Assert.Equal(["b.bin", "deep"], Names(_fx.Engine.List("dir/", recursive: false)));
    }

    [Fact]
    public void A_regular_file_lists_as_its_one_entry()
    {
        var entry = Assert.Single(_fx.Engine.List("dir/b.bin", recursive: true));
        Assert.Equal(new ListingEntry(ListingEntryType.File, entry.Mode, 2, entry.MtimeUnixMs, "b.bin"), entry);
    }

    [Fact]
    public void Ferry_temp_and_journal_names_are_not_listed()
    {
        File.WriteAllText(_fx.InRoot("dir/" + ReservedNames.PartName("up.bin")), "partial");
        File.WriteAllText(_fx.InRoot("dir/x" + ReservedNames.JournalSuffix), "j");
        File.WriteAllText(_fx.InRoot("dir/x" + ReservedNames.JournalTempSuffix), "j");

        Assert.Equal(["b.bin", "deep"], Names(_fx.Engine.List("dir", recursive: false)));
    }

    [Fact]
    public void A_symlink_pointing_out_of_the_root_is_listed_as_a_symlink_and_never_followed()
    {
        string outside = Path.Combine(_fx.Outside, "secret");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "password"), "hunter2");
        File.CreateSymbolicLink(_fx.InRoot("dir/out"), outside);
        File.CreateSymbolicLink(_fx.InRoot("dir/in"), _fx.InRoot("dir/deep"));

        var entries = _fx.Engine.List("dir", recursive: true);

        Assert.Equal(["b.bin", "deep", "deep/c", "in", "out"], Names(entries));
        Assert.Equal(ListingEntryType.Symlink, entries.Single(e => e.Name == "out").Type);
        Assert.Equal(ListingEntryType.Symlink, entries.Single(e => e.Name == "in").Type);
        Assert.DoesNotContain(entries, e => e.Name.Contains("password", StringComparison.Ordinal));
        var refused = Assert.Throws<FileEngineException>(() => _fx.Engine.List("dir/out", recursive: false));
        Assert.Equal(FileErrorCode.InvalidPath, refused.Code);
    }

    [Theory]
    [InlineData("../", FileErrorCode.InvalidPath)]
    [InlineData("/etc", FileErrorCode.InvalidPath)]
    [InlineData("dir/../..", FileErrorCode.InvalidPath)]
    [InlineData("missing", FileErrorCode.NotFound)]
    [InlineData("a.txt/x", FileErrorCode.NotFound)]
    public void Paths_outside_the_root_or_missing_are_refused(string path, FileErrorCode code)
    {
        Assert.Equal(code, Assert.Throws<FileEngineException>(() => _fx.Engine.List(path, recursive: false)).Code);
    }

    [Fact]
    public void A_listing_deeper_than_the_limit_is_refused()
    {
        string deep = _fx.InRoot("n");
        for (int i = 0; i < FileEngine.MaxListingDepth + 1; i++)
        {
            deep = Path.Combine(deep, "d");
        }

        Directory.CreateDirectory(deep);
        Assert.Equal(FileErrorCode.TooLarge, Assert.Throws<FileEngineException>(() => _fx.Engine.List("n", recursive: true)).Code);
        Assert.Single(_fx.Engine.List("n", recursive: false));
    }

    [Fact]
    public void The_encoded_listing_decodes_to_the_same_entries()
    {
        var entries = _fx.Engine.List(string.Empty, recursive: true);
        using var held = _fx.Engine.ListEncoded(string.Empty, recursive: true);
        Assert.True(ListingCodec.TryDecode(held.Bytes, ListingCodec.MaxEntries, out var decoded, out string error), error);
        Assert.Equal(entries, decoded);
    }

    [Fact]
    public void At_most_a_bounded_number_of_listings_are_held_at_once()
    {
        var held = Enumerable.Range(0, FileEngine.MaxListingsHeld).Select(_ => _fx.Engine.ListEncoded("dir", recursive: false)).ToList();

        var refused = Assert.Throws<FileEngineException>(() => _fx.Engine.ListEncoded("dir", recursive: false));
        Assert.Equal(FileErrorCode.Busy, refused.Code);
        held[0].Dispose();
        held[0].Dispose(); // twice releases once
        held[0] = _fx.Engine.ListEncoded("dir", recursive: false);
        Assert.Throws<FileEngineException>(() => _fx.Engine.ListEncoded("dir", recursive: false));

        // A refused listing (not found) does not keep its place.
        held.ForEach(h => h.Dispose());
        for (int i = 0; i < FileEngine.MaxListingsHeld + 1; i++)
        {
            Assert.Throws<FileEngineException>(() => _fx.Engine.ListEncoded("missing", recursive: false));
        }

        using var again = _fx.Engine.ListEncoded("dir", recursive: false);
    }
}
