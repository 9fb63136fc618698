using System.Runtime.InteropServices;
using Ferry.Jobs;
using Ferry.Tests.Files;

namespace Ferry.Tests.Jobs;

/// <summary>The local walker: regular files and directories (empty ones too), everything else skipped and counted, unreadable entries failed.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class LocalTreeTests
{
    [Fact]
    public void Files_and_directories_empty_ones_too_with_their_time_and_mode()
    {
        using var dir = new TempDir();
        string src = dir.Combine("src");
        Directory.CreateDirectory(Path.Combine(src, "empty"));
        Directory.CreateDirectory(Path.Combine(src, "a", "b"));
        File.WriteAllText(Path.Combine(src, "a", "b", "f"), "123");
        File.WriteAllBytes(Path.Combine(src, "zero"), []);
        File.SetUnixFileMode(Path.Combine(src, "zero"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        File.SetLastWriteTimeUtc(Path.Combine(src, "zero"), new DateTime(2020, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc));

        var walk = LocalTree.Walk(src);

        Assert.Empty(walk.Problems);
        Assert.Equal(["", "a", "a/b", "a/b/f", "empty", "zero"], walk.Items.Select(i => i.RelativePath));
        Assert.Equal(JobEntryKind.Directory, walk.Items.Single(i => i.RelativePath == "empty").Kind);
        var f = walk.Items.Single(i => i.RelativePath == "a/b/f");
        Assert.Equal((JobEntryKind.File, 3L), (f.Kind, f.Size));
        var zero = walk.Items.Single(i => i.RelativePath == "zero");
        Assert.Equal(0x1A0, zero.Mode); // 0640
        Assert.Equal(new DateTimeOffset(2020, 1, 2, 3, 4, 5, 678, TimeSpan.Zero).ToUnixTimeMilliseconds(), zero.MtimeUnixMs);
    }

    [Fact]
    public void A_file_source_is_one_item()
    {
        using var dir = new TempDir();
        string f = dir.Combine("one.bin");
        File.WriteAllText(f, "x");
        var walk = LocalTree.Walk(f);
        Assert.Equal(JobEntryKind.File, Assert.Single(walk.Items).Kind);
    }

    [Fact]
    public void Symlinks_and_special_files_are_skipped_one_warning_each_and_links_are_not_followed()
    {
        using var dir = new TempDir();
        string src = dir.Combine("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "real"), "x");
        File.CreateSymbolicLink(Path.Combine(src, "to-file"), Path.Combine(src, "real"));
        Directory.CreateSymbolicLink(Path.Combine(src, "to-etc"), "/etc");
        TestNative.MakeFifo(Path.Combine(src, "fifo"));

        var walk = LocalTree.Walk(src);

        Assert.Equal(["", "real"], walk.Items.Select(i => i.RelativePath));
        Assert.Equal(3, walk.Problems.Count);
        Assert.All(walk.Problems, p => Assert.True(p.Skipped));
        Assert.Contains(walk.Problems, p => p.RelativePath == "to-etc" && p.Message.Contains("a symbolic link", StringComparison.Ordinal));
        Assert.Contains(walk.Problems, p => p.RelativePath == "fifo" && p.Message.Contains("a fifo", StringComparison.Ordinal));
    }

    [Fact]
    public void A_symlink_named_as_the_source_is_followed()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("real"));
        File.WriteAllText(Path.Combine(dir.Combine("real"), "f"), "x");
        Directory.CreateSymbolicLink(dir.Combine("link"), dir.Combine("real"));
        Assert.Equal(["", "f"], LocalTree.Walk(dir.Combine("link")).Items.Select(i => i.RelativePath));
    }

    [Fact]
    public void A_missing_source_is_a_problem_not_a_crash()
    {
        using var dir = new TempDir();
        var walk = LocalTree.Walk(dir.Combine("nothing"));
        Assert.Empty(walk.Items);
        Assert.Contains("vanished", Assert.Single(walk.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreadable_file_and_an_unreadable_directory_fail_alone_and_the_walk_goes_on()
    {
        using var dir = new TempDir();
        string src = dir.Combine("src");
        Directory.CreateDirectory(Path.Combine(src, "closed"));
        File.WriteAllText(Path.Combine(src, "closed", "inside"), "x");
        File.WriteAllText(Path.Combine(src, "secret"), "x");
        File.WriteAllText(Path.Combine(src, "visible"), "x");
        File.SetUnixFileMode(Path.Combine(src, "secret"), UnixFileMode.None);
        File.SetUnixFileMode(Path.Combine(src, "closed"), UnixFileMode.None);
        OpenToOthers(dir.Path);

        try
        {
            var walk = AsUnprivileged(() => LocalTree.Walk(src));

            Assert.Equal(["", "closed", "visible"], walk.Items.Select(i => i.RelativePath));
            Assert.Equal(2, walk.Problems.Count);
            Assert.All(walk.Problems, p => Assert.False(p.Skipped));
            Assert.Contains(walk.Problems, p => p.RelativePath == "secret" && p.Message.Contains("permission denied", StringComparison.Ordinal));
            Assert.Contains(walk.Problems, p => p.RelativePath == "closed" && p.Message.Contains("cannot read the directory", StringComparison.Ordinal));
        }
        finally
        {
            File.SetUnixFileMode(Path.Combine(src, "closed"), (UnixFileMode)0x1ED);
        }
    }

    /// <summary>Lets another user traverse and read the temporary tree (its directories are created 0700).</summary>
    internal static void OpenToOthers(string path)
    {
        for (string? p = path; p is not null && p != Path.GetTempPath().TrimEnd('/'); p = Path.GetDirectoryName(p))
        {
            File.SetUnixFileMode(p, (UnixFileMode)0x1ED); // 0755
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> on a thread of its own that checks file permissions as an ordinary user: as root,
    /// its filesystem user id becomes nobody's (setfsuid is per thread, and drops the capability to ignore
    /// permissions), so a file mode of 0 really keeps it out.
    /// </summary>
    internal static T AsUnprivileged<T>(Func<T> body)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (TestNative.IsRoot)
                {
                    setfsuid(65534);
                    setfsgid(65534);
                }

                result = body();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw error;
        }

        return result;
    }

    [LibraryImport("libc")]
    private static partial int setfsuid(uint uid);

    [LibraryImport("libc")]
    private static partial int setfsgid(uint gid);
}
