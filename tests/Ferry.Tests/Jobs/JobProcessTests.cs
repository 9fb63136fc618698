using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Ferry.Tests.Files;
using Ferry.Tests.Support;
using Ferry.Tests.Tcp;
using Ferry.Tests.Zmq;

namespace Ferry.Tests.Jobs;

/// <summary>
/// <c>ferry send</c> and <c>ferry get</c> of directory trees and several sources, the real executable against real
/// udp://, tcp:// and zmq:// servers on 127.0.0.1: hostile names, empty directories, 0-byte files, deep nesting, the
/// destination rule, metadata kept, complete files skipped on a re-run, refused and unreadable files (exit 8).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class JobProcessTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(2);
    private static readonly DateTime s_old = new(2021, 3, 4, 5, 6, 7, 890, DateTimeKind.Utc);

    /// <summary>Names a tree must carry as they are.</summary>
    private static readonly string[] s_names = ["sp ace.txt", "ünï cødé 日本.txt", "a#1", "what?.pdf", "100%.txt", "a%20b"];

    /// <summary>
    /// A tree with an empty directory, a 0-byte file with its own mode and time, twelve levels of nesting, every name
    /// of <see cref="s_names"/>, a file of some size, and a symlink (skipped).
    /// </summary>
    private static string MakeTree(string parent, string name = "tree")
    {
        string root = Path.Combine(parent, name);
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        string deep = Path.Combine([root, .. Enumerable.Range(1, 12).Select(i => $"d{i}")]);
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(deep, "bottom.txt"), "deep");
        File.WriteAllBytes(Path.Combine(root, "zero"), []);
        File.SetUnixFileMode(Path.Combine(root, "zero"), (UnixFileMode)0x1A0); // 0640
        File.SetLastWriteTimeUtc(Path.Combine(root, "zero"), s_old);
        Directory.CreateDirectory(Path.Combine(root, "names"));
        foreach (string n in s_names)
        {
            File.WriteAllText(Path.Combine(root, "names", n), "content of " + n);
        }

        var data = new byte[300_000];
        new Random(7).NextBytes(data);
        File.WriteAllBytes(Path.Combine(root, "data.bin"), data);
        File.SetUnixFileMode(Path.Combine(root, "data.bin"), (UnixFileMode)0x1ED); // 0755
        File.CreateSymbolicLink(Path.Combine(root, "link"), "/etc");
        File.SetUnixFileMode(Path.Combine(root, "d1"), (UnixFileMode)0x1E8); // 0750
        Directory.SetLastWriteTimeUtc(Path.Combine(root, "empty"), s_old);
        Directory.SetLastWriteTimeUtc(deep, s_old);
        return root;
    }

    /// <summary>Every regular file and directory below <paramref name="root"/>, by relative path (symlinks left out).</summary>
    private static SortedDictionary<string, FileSystemInfo> Entries(string root)
    {
        var all = new SortedDictionary<string, FileSystemInfo>(StringComparer.Ordinal);
        foreach (var info in new DirectoryInfo(root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
        {
            if (info.LinkTarget is null)
            {
                all[Path.GetRelativePath(root, info.FullName)] = info;
            }
        }

        return all;
    }

    /// <summary>The same files with the same bytes and the same directories; with <paramref name="metadata"/> the same times (ms) and modes too.</summary>
    private static void AssertSameTree(string expected, string actual, bool metadata, bool emptyDirectories = true)
    {
        var want = Entries(expected);
        var got = Entries(actual);
        if (!emptyDirectories)
        {
            foreach (var empty in want.Where(e => e.Value is DirectoryInfo d && !d.EnumerateFileSystemInfos().Any()).Select(e => e.Key).ToList())
            {
                want.Remove(empty);
            }
        }

        Assert.Equal(want.Keys, got.Keys);
        foreach (var (path, info) in want)
        {
            if (info is FileInfo)
            {
                Assert.Equal(File.ReadAllBytes(info.FullName), File.ReadAllBytes(got[path].FullName));
            }

            if (metadata)
            {
                Assert.True(info.UnixFileMode == got[path].UnixFileMode, $"{path}: mode {got[path].UnixFileMode}, expected {info.UnixFileMode}");
                Assert.True(
                    new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeMilliseconds() == new DateTimeOffset(got[path].LastWriteTimeUtc).ToUnixTimeMilliseconds(),
                    $"{path}: mtime {got[path].LastWriteTimeUtc:O}, expected {info.LastWriteTimeUtc:O}");
            }
        }
    }

    /// <summary>
    /// The tree arrived: every file with its bytes, every directory. A scheme that creates directories (udp://, tcp://)
    /// made the empty one too and kept every time and mode; one that cannot (zmq://) named it in a warning.
    /// </summary>
    private static void AssertUploaded(string tree, string stored, string remote, Run run, bool makesDirectories)
    {
        if (makesDirectories)
        {
            Assert.True(Directory.Exists(Path.Combine(stored, "empty")), run.ToString());
        }
        else
        {
            Assert.Contains($"cannot create directories: empty directory '{remote}/empty' skipped", run.StandardError, StringComparison.Ordinal);
        }

        AssertSameTree(tree, stored, metadata: makesDirectories, emptyDirectories: makesDirectories);
    }

    private sealed record Run(int ExitCode, JsonElement[] Events, string StandardError, string Output)
    {
        public JsonElement Done => Events.Single(e => e.GetProperty("event").GetString() == "done");

        /// <summary>The file events of regular files (not of directories) with this status.</summary>
        public JsonElement[] Files(string status) =>
            Events.Where(e => e.GetProperty("event").GetString() == "file" && e.GetProperty("status").GetString() == status && !e.TryGetProperty("type", out _)).ToArray();

        /// <summary>Every failure event, directories included.</summary>
        public int FailedEvents => Events.Count(e => e.GetProperty("event").GetString() == "file" && e.GetProperty("status").GetString() == "failed");

        public override string ToString() => $"exit {ExitCode}\nstderr: {StandardError}\nstdout: {Output}";
    }

    private static async Task<Run> Ferry(params string[] args)
    {
        var r = await FerryRun.RunAsync(args, limit: s_limit);
        return Parse(r.ExitCode, Encoding.UTF8.GetString(r.StandardOutput), r.StandardError);
    }

    private static Run Parse(int exitCode, string stdout, string stderr)
    {
        var events = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith('{'))
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .ToArray();
        return new Run(exitCode, events, stderr, stdout);
    }

    /// <summary>A whole tree up to the server, back down elsewhere, then both again: nothing moves the second time.</summary>
    private static async Task RoundTrip(string baseUrl, string serverRoot, string local)
    {
        string tree = MakeTree(local);

        var up = await Ferry("send", "--json", tree, baseUrl + "backup/tree");
        Assert.True(up.ExitCode == 0, up.ToString());
        var start = up.Events[0];
        Assert.Equal("start", start.GetProperty("event").GetString());
        Assert.Equal(9, start.GetProperty("files_total").GetInt32());
        Assert.Equal(9, up.Files("done").Length);
        Assert.All(up.Files("done"), f => Assert.Equal(64, f.GetProperty("sha256").GetString()!.Length));
        Assert.Equal(9, up.Done.GetProperty("done").GetInt32());
        Assert.Contains("skipped '" + Path.Combine(tree, "link") + "': a symbolic link", up.StandardError, StringComparison.Ordinal);
        string stored = Path.Combine(serverRoot, "backup", "tree");
        Assert.True(Directory.Exists(Path.Combine(stored, "empty")), up.ToString());
        AssertSameTree(tree, stored, metadata: true);

        // Down again, into a directory (trailing '/'): the copy keeps every time and mode the server has.
        string back = Path.Combine(local, "back");
        var down = await Ferry("get", "--json", baseUrl + "backup/tree", back + "/");
        Assert.True(down.ExitCode == 0, down.ToString());
        AssertSameTree(stored, Path.Combine(back, "tree"), metadata: true);
        AssertSameTree(tree, Path.Combine(back, "tree"), metadata: false);

        // The same commands again: every file is complete, so nothing is sent.
        var downAgain = await Ferry("get", "--json", baseUrl + "backup/tree", back + "/");
        Assert.True(downAgain.ExitCode == 0, downAgain.ToString());
        Assert.Equal(9, downAgain.Files("skipped").Length);
        Assert.Empty(downAgain.Files("done"));
        Assert.Equal(0, downAgain.Done.GetProperty("bytes").GetInt64());

        // A directory named without a trailing '/' into a new name: the server says it is no file, and the tree comes
        // down as a job; --json has one start event (the job's, with its totals), not the abandoned file's too.
        string named = Path.Combine(local, "named");
        var byName = await Ferry("get", "--json", baseUrl + "backup/tree", named);
        Assert.True(byName.ExitCode == 0, byName.ToString());
        var starts = byName.Events.Where(e => e.GetProperty("event").GetString() == "start").ToArray();
        Assert.True(starts.Length == 1 && byName.Events[0].GetProperty("event").GetString() == "start", byName.ToString());
        Assert.Equal(9, starts[0].GetProperty("files_total").GetInt32());
        AssertSameTree(stored, named, metadata: true);

        var upAgain = await Ferry("send", "--json", tree, baseUrl + "backup/tree");
        Assert.True(upAgain.ExitCode == 0, upAgain.ToString());
        Assert.Equal(9, upAgain.Files("skipped").Length);
        Assert.Equal(9, upAgain.Done.GetProperty("skipped").GetInt32());
    }

    [Fact]
    public async Task Udp_a_tree_goes_up_and_comes_back_and_a_rerun_moves_nothing()
    {
        await using var server = new UdpServerFixture();
        await RoundTrip($"udp://127.0.0.1:{server.EndPoint.Port}/", server.Root, server.Local("local"));
    }

    [Fact]
    public async Task Tcp_a_tree_goes_up_and_comes_back_and_a_rerun_moves_nothing()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        await RoundTrip($"tcp://127.0.0.1:{server.Port}/", env.Root, env.Local);
    }

    [ZmqFact]
    public async Task Zmq_uploads_a_tree_and_skips_empty_directories_with_a_warning()
    {
        await using var server = new ZmqServerFixture(curve: true);
        using var dir = new TempDir();
        string tree = MakeTree(dir.Path);

        var up = await Ferry("send", "--json", "--server-key", server.CurveKey!, tree, server.Url("up/").ToString());

        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Equal(9, up.Files("done").Length);
        AssertUploaded(tree, server.PathOf("up/tree"), "up/tree", up, makesDirectories: false);
    }

    [Fact]
    public async Task Several_sources_go_into_a_directory_both_ways_and_need_a_trailing_slash()
    {
        await using var server = new UdpServerFixture();
        string url = $"udp://127.0.0.1:{server.EndPoint.Port}/";
        string local = server.Local("local");
        string tree = MakeTree(local);
        string single = Path.Combine(local, "single #1.txt");
        File.WriteAllText(single, "one");

        var refused = await Ferry("send", single, tree, url + "inbox");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("several sources need a destination ending in '/'", refused.StandardError, StringComparison.Ordinal);

        var up = await Ferry("send", "--json", single, tree, url + "inbox/");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Equal("one", File.ReadAllText(Path.Combine(server.Root, "inbox", "single #1.txt")));
        AssertUploaded(tree, Path.Combine(server.Root, "inbox", "tree"), "inbox/tree", up, makesDirectories: true);

        // A single file to an existing directory without a slash goes inside it, as cp does.
        File.WriteAllText(Path.Combine(local, "solo"), "solo");
        var solo = await Ferry("send", Path.Combine(local, "solo"), url + "inbox");
        Assert.True(solo.ExitCode == 0, solo.ToString());
        Assert.Equal("solo", File.ReadAllText(Path.Combine(server.Root, "inbox", "solo")));

        // A single file to a URL ending in '/' goes inside that directory, created if missing.
        var slash = await Ferry("send", Path.Combine(local, "solo"), url + "new dir/");
        Assert.True(slash.ExitCode == 0, slash.ToString());
        Assert.Equal("solo", File.ReadAllText(Path.Combine(server.Root, "new dir", "solo")));

        string here = Path.Combine(local, "here");
        var down = await Ferry("get", "--json", url + "inbox/single #1.txt", url + "inbox/tree", here + "/");
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Equal("one", File.ReadAllText(Path.Combine(here, "single #1.txt")));
        AssertSameTree(Path.Combine(server.Root, "inbox", "tree"), Path.Combine(here, "tree"), metadata: true);
    }

    [Fact]
    public async Task A_path_the_token_does_not_allow_fails_alone_with_exit_8_and_the_rest_is_done()
    {
        await using var server = new UdpServerFixture(requireToken: true);
        string token = server.Tokens.Create("pub-writer", read: true, write: true, "pub", DateTimeOffset.UtcNow, null);
        string local = server.Local("local");
        string pub = MakeTree(local, "pub");
        string other = Path.Combine(local, "other");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "no.txt"), "refused");

        var run = await Ferry("send", "--json", "--token", token, pub, other, $"udp://127.0.0.1:{server.EndPoint.Port}/");

        Assert.True(run.ExitCode == 8, run.ToString());
        var failed = Assert.Single(run.Files("failed"));
        Assert.Equal("other/no.txt", failed.GetProperty("path").GetString());
        Assert.Contains("limited to 'pub/'", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(9, run.Files("done").Length);
        // The directory "other" is refused too where the scheme creates directories.
        Assert.Equal(run.FailedEvents, run.Done.GetProperty("failed").GetInt32());
        AssertUploaded(pub, Path.Combine(server.Root, "pub"), "pub", run, makesDirectories: true);
        Assert.False(Directory.Exists(Path.Combine(server.Root, "other")));
    }

    [Fact]
    public async Task A_local_file_that_cannot_be_read_fails_alone_with_exit_8()
    {
        await using var server = new UdpServerFixture();
        // The client must not be root for a file mode to keep it out: as root, ferry runs as nobody.
        string local = server.Local("local");
        string tree = MakeTree(local);
        File.WriteAllText(Path.Combine(tree, "secret"), "x");
        File.SetUnixFileMode(Path.Combine(tree, "secret"), UnixFileMode.None);
        File.SetUnixFileMode(Path.Combine(tree, "zero"), (UnixFileMode)0x1A4);
        File.SetUnixFileMode(Path.Combine(tree, "d1"), (UnixFileMode)0x1ED);
        LocalTreeTests.OpenToOthers(tree);

        var run = await FerryAsOrdinaryUser("send", "--json", tree, $"udp://127.0.0.1:{server.EndPoint.Port}/t/");

        Assert.True(run.ExitCode == 8, run.ToString());
        Assert.True(run.Files("failed").Length == 1, run.ToString());
        var failed = run.Files("failed")[0];
        Assert.Contains("secret': cannot read: permission denied", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(9, run.Files("done").Length);
        Assert.Equal(10, run.Done.GetProperty("files").GetInt32());
        Assert.False(File.Exists(Path.Combine(server.Root, "t", "tree", "secret")));
        Assert.True(File.Exists(Path.Combine(server.Root, "t", "tree", "data.bin")));
    }

    [Fact]
    public async Task A_missing_source_fails_with_exit_3_into_a_missing_or_an_existing_directory()
    {
        await using var server = new UdpServerFixture();
        string url = $"udp://127.0.0.1:{server.EndPoint.Port}/nonexist";
        string existing = server.Local("here");
        Directory.CreateDirectory(existing);
        foreach (string dest in new[] { existing + "/", server.Local("not-yet") + "/" })
        {
            var run = await Ferry("get", url, dest);
            Assert.True(run.ExitCode == 3, run.ToString());
            Assert.Contains("not found", run.StandardError, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(server.Local("not-yet")));
    }

    [Fact]
    public async Task Tftp_says_it_cannot_carry_a_tree()
    {
        using var dir = new TempDir();
        string tree = MakeTree(dir.Path);
        var run = await Ferry("send", tree, "tftp://127.0.0.1:1/x/");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("tftp:// moves one file per command", run.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs ferry as it is, or as root through setpriv as the user nobody (with a configuration directory of its own and
    /// the server reached with --insecure, so that it needs nothing of the test run's own files).
    /// </summary>
    private static async Task<Run> FerryAsOrdinaryUser(params string[] args)
    {
        if (!TestNative.IsRoot)
        {
            return await Ferry(args);
        }

        using var home = new TempDir();
        File.SetUnixFileMode(home.Path, (UnixFileMode)0x1FF);
        var psi = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (string a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "dotnet", Path.Combine(AppContext.BaseDirectory, "ferry.dll"), .. args])
        {
            psi.ArgumentList.Add(a);
        }

        foreach (string variable in (string[])["HOME", "DOTNET_CLI_HOME", "FERRY_CONFIG_DIR", "XDG_STATE_HOME"])
        {
            psi.Environment[variable] = home.Path;
        }

        using var process = Process.Start(psi)!;
        using var timeout = new CancellationTokenSource(s_limit);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return Parse(process.ExitCode, await stdout, await stderr);
    }
}
