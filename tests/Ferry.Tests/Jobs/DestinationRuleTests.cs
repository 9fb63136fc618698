using Ferry.Jobs;
using Ferry.Transfers;

namespace Ferry.Tests.Jobs;

/// <summary>Every case of the destination rule shared by send and get, local and remote destinations.</summary>
public sealed class DestinationRuleTests
{
    private static readonly CopySource s_file = new("a.iso", IsDirectory: false);
    private static readonly CopySource s_dir = new("photos", IsDirectory: true);

    /// <summary>A destination side where only <paramref name="existing"/> exist.</summary>
    private static Func<string, DestinationState> World(params (string Path, DestinationState State)[] existing) =>
        path => existing.FirstOrDefault(e => e.Path == path) is { Path: not null } hit ? hit.State : DestinationState.Missing;

    private static string[] Resolve(string dest, CopySource[] sources, params (string, DestinationState)[] existing) =>
        DestinationRule.Resolve(dest, sources, World(existing));

    private static string Refused(string dest, CopySource[] sources, params (string, DestinationState)[] existing)
    {
        var e = Assert.Throws<TransferException>(() => Resolve(dest, sources, existing));
        Assert.Equal(ExitCode.Usage, e.Code);
        return e.Message;
    }

    [Theory]
    [InlineData("inbox/", true)]
    [InlineData("", true)]
    [InlineData(".", true)]
    [InlineData("..", true)]
    [InlineData("a/.", true)]
    [InlineData("a/..", true)]
    [InlineData("/", true)]
    [InlineData("inbox", false)]
    [InlineData("a.b", false)]
    [InlineData("..a", false)]
    [InlineData("a/.x", false)]
    public void A_trailing_slash_dot_or_dotdot_means_into(string dest, bool into) => Assert.Equal(into, DestinationRule.MeansInto(dest));

    [Theory]
    [InlineData("inbox/", "inbox")]
    [InlineData("a//b/", "a/b")]
    [InlineData("./a/./b", "a/b")]
    [InlineData("a/b/..", "a")]
    [InlineData("a/..", "")]
    [InlineData(".", "")]
    [InlineData("..", "..")]
    [InlineData("../../x", "../../x")]
    [InlineData("/tmp/x/", "/tmp/x")]
    [InlineData("/..", "/")]
    [InlineData("", "")]
    public void Normalize_drops_dots_and_slashes(string path, string expected) => Assert.Equal(expected, DestinationRule.Normalize(path));

    [Fact]
    public void Into_a_directory_each_source_keeps_its_name_whether_the_directory_exists_or_not()
    {
        Assert.Equal(["inbox/a.iso", "inbox/photos"], Resolve("inbox/", [s_file, s_dir]));
        Assert.Equal(["inbox/a.iso", "inbox/photos"], Resolve("inbox/", [s_file, s_dir], ("inbox", DestinationState.Directory)));
        Assert.Equal(["a.iso"], Resolve("", [s_file]));
        Assert.Equal(["photos"], Resolve(".", [s_dir]));
        Assert.Equal(["../photos"], Resolve("..", [s_dir]));
        Assert.Equal(["x/photos"], Resolve("x/y/..", [s_dir]));
        Assert.Equal(["/tmp/a.iso"], Resolve("/tmp/", [s_file]));
    }

    [Fact]
    public void Into_a_directory_that_is_a_file_is_refused()
    {
        Assert.Contains("'inbox/' is a file, not a directory", Refused("inbox/", [s_file], ("inbox", DestinationState.File)));
    }

    [Fact]
    public void Into_a_directory_a_source_whose_target_has_the_other_kind_is_refused()
    {
        Assert.Contains("cannot copy the directory 'photos' onto 'inbox/photos', which is a file",
            Refused("inbox/", [s_dir], ("inbox", DestinationState.Directory), ("inbox/photos", DestinationState.File)));
        Assert.Contains("cannot copy the file 'a.iso' onto 'inbox/a.iso', which is a directory",
            Refused("inbox/", [s_file], ("inbox", DestinationState.Directory), ("inbox/a.iso", DestinationState.Directory)));
    }

    [Fact]
    public void Into_a_directory_a_target_of_the_same_kind_is_completed()
    {
        Assert.Equal(["inbox/photos"], Resolve("inbox/", [s_dir], ("inbox", DestinationState.Directory), ("inbox/photos", DestinationState.Directory)));
        Assert.Equal(["inbox/a.iso"], Resolve("inbox/", [s_file], ("inbox", DestinationState.Directory), ("inbox/a.iso", DestinationState.File)));
    }

    [Fact]
    public void Several_sources_need_a_trailing_slash_even_into_an_existing_directory()
    {
        Assert.Contains("several sources need a destination ending in '/'", Refused("inbox", [s_file, s_dir]));
        Assert.Contains("'inbox/'", Refused("inbox", [s_file, s_dir], ("inbox", DestinationState.Directory)));
    }

    [Fact]
    public void Two_sources_with_one_name_are_refused()
    {
        Assert.Contains("two sources have the same name", Refused("inbox/", [s_dir, new CopySource("photos", IsDirectory: false)]));
    }

    [Fact]
    public void A_directory_source_becomes_the_destination_created_or_completed()
    {
        Assert.Equal(["backup/photos"], Resolve("backup/photos", [s_dir]));
        Assert.Equal(["backup/pics"], Resolve("backup/pics", [s_dir], ("backup/pics", DestinationState.Directory)));
    }

    [Fact]
    public void A_directory_source_onto_an_existing_file_is_refused()
    {
        Assert.Contains("cannot copy the directory 'photos' onto 'backup/pics', which is a file",
            Refused("backup/pics", [s_dir], ("backup/pics", DestinationState.File)));
    }

    [Fact]
    public void A_file_source_becomes_the_destination_file_missing_or_existing()
    {
        Assert.Equal(["b.iso"], Resolve("b.iso", [s_file]));
        Assert.Equal(["b.iso"], Resolve("b.iso", [s_file], ("b.iso", DestinationState.File)));
    }

    [Fact]
    public void A_file_source_into_an_existing_directory_goes_inside_it()
    {
        Assert.Equal(["inbox/a.iso"], Resolve("inbox", [s_file], ("inbox", DestinationState.Directory)));
        Assert.Equal(["inbox/a.iso"], Resolve("inbox", [s_file], ("inbox", DestinationState.Directory), ("inbox/a.iso", DestinationState.File)));
    }

    [Fact]
    public void A_file_source_into_an_existing_directory_whose_entry_of_that_name_is_a_directory_is_refused()
    {
        Assert.Contains("cannot copy the file 'a.iso' onto 'inbox/a.iso', which is a directory",
            Refused("inbox", [s_file], ("inbox", DestinationState.Directory), ("inbox/a.iso", DestinationState.Directory)));
    }

    [Fact]
    public void No_source_is_a_usage_error() => Refused("x/", []);

    [Fact]
    public void Running_the_same_command_again_targets_the_same_paths()
    {
        // First run: nothing there. Second run: what the first one created is there.
        Assert.Equal(Resolve("backup/photos", [s_dir]), Resolve("backup/photos", [s_dir], ("backup/photos", DestinationState.Directory)));
        Assert.Equal(Resolve("inbox/", [s_file, s_dir]),
            Resolve("inbox/", [s_file, s_dir], ("inbox", DestinationState.Directory), ("inbox/a.iso", DestinationState.File), ("inbox/photos", DestinationState.Directory)));
    }

    [Theory]
    [InlineData("a/b/c", "c")]
    [InlineData("a/b/", "b")]
    [InlineData("", "")]
    [InlineData("x", "x")]
    public void NameOf_is_the_last_segment(string path, string name) => Assert.Equal(name, DestinationRule.NameOf(path));
}
