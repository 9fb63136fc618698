using Ferry.Jobs;
using Ferry.Protocol.Listing;
using Ferry.Tests.Files;
using Ferry.Transfers;

namespace Ferry.Tests.Jobs;

/// <summary>What the planner sends, skips as complete and refuses, against a server whose listings are given.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class JobPlannerTests
{
    private static readonly RemoteUrl s_server = TransferClients.ParseUrl("udp://127.0.0.1:9/");
    private static readonly long s_when = new DateTimeOffset(2024, 5, 6, 7, 8, 9, 123, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>A server that answers listings from a table (path -> what a non-recursive / recursive listing returns).</summary>
    private sealed class ListingServer : ITransferClient
    {
        public Dictionary<string, ListingEntry[]> Flat { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, ListingEntry[]> Deep { get; } = new(StringComparer.Ordinal);

        public string Scheme => "udp";

        public Task<TransferResult> GetAsync(Uri remote, string localPath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<TransferResult> SendAsync(string localPath, Uri remote, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<IReadOnlyList<ListingEntry>> ListAsync(Uri remote, bool recursive, ClientOptions options, CancellationToken cancellationToken)
        {
            string path = TransferClients.ListPath(remote);
            return (recursive ? Deep : Flat).TryGetValue(path, out var entries)
                ? Task.FromResult<IReadOnlyList<ListingEntry>>(entries)
                : throw Failures.FromServer(FailureKind.NotFound, $"'{path}' not found");
        }
    }

    private static ListingEntry RemoteFile(string name, long size, long mtime) => new(ListingEntryType.File, 0x1A4, size, mtime, name);

    private static ListingEntry RemoteDir(string name, long mtime = 0, int mode = 0x1ED) => new(ListingEntryType.Directory, mode, 0, mtime, name);

    private static string Tree(TempDir dir)
    {
        string src = dir.Combine("tree");
        Directory.CreateDirectory(Path.Combine(src, "sub"));
        foreach (var (name, size) in new[] { ("same", 10), ("newer", 10), ("longer", 12), ("sub/deep", 3) })
        {
            string f = Path.Combine(src, name);
            File.WriteAllBytes(f, new byte[size]);
            File.SetLastWriteTimeUtc(f, DateTimeOffset.FromUnixTimeMilliseconds(s_when).UtcDateTime);
        }

        return src;
    }

    [Fact]
    public async Task Upload_skips_a_remote_file_of_the_same_size_and_mtime_only()
    {
        using var dir = new TempDir();
        string src = Tree(dir);
        var server = new ListingServer();
        server.Flat[""] = [RemoteDir("backup")];
        server.Flat["backup"] = [RemoteDir("tree")];
        server.Deep["backup/tree"] =
        [
            RemoteFile("same", 10, s_when), RemoteFile("newer", 10, s_when + 1), RemoteFile("longer", 10, s_when), RemoteDir("sub"),
        ];

        var plan = await JobPlanner.PlanUploadAsync(server, [src], s_server.WithPath("backup/"), new ClientOptions(), null, CancellationToken.None);

        Assert.Equal(["backup/tree/same"], plan.Complete.Select(c => c.Path));
        Assert.Equal(
            ["backup/tree/longer", "backup/tree/newer", "backup/tree/sub/deep", "backup/tree/sub", "backup/tree"],
            plan.Entries.Select(e => e.RemotePath));
        Assert.Equal(Enumerable.Range(0, 5), plan.Entries.Select(e => e.Index));
        Assert.Equal(4, plan.FilesTotal);
        Assert.Equal(35, plan.BytesTotal);
        Assert.Empty(plan.Failures);
    }

    [Fact]
    public async Task Upload_to_a_missing_destination_sends_everything_directories_last_deepest_first()
    {
        using var dir = new TempDir();
        string src = Tree(dir);
        var server = new ListingServer();
        server.Flat[""] = [];

        var plan = await JobPlanner.PlanUploadAsync(server, [src], s_server.WithPath("copy"), new ClientOptions(), null, CancellationToken.None);

        Assert.Empty(plan.Complete);
        Assert.Equal(["copy/longer", "copy/newer", "copy/same", "copy/sub/deep", "copy/sub", "copy"], plan.Entries.Select(e => e.RemotePath));
    }

    [Fact]
    public async Task Upload_leaves_out_a_directory_already_right_unless_a_file_is_written_below_it()
    {
        using var dir = new TempDir();
        string src = Tree(dir);
        long subTime = new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        long treeTime = subTime + 5;
        Directory.SetLastWriteTimeUtc(Path.Combine(src, "sub"), DateTimeOffset.FromUnixTimeMilliseconds(subTime).UtcDateTime);
        Directory.SetLastWriteTimeUtc(src, DateTimeOffset.FromUnixTimeMilliseconds(treeTime).UtcDateTime);
        File.SetUnixFileMode(Path.Combine(src, "sub"), (UnixFileMode)0x1ED);
        File.SetUnixFileMode(src, (UnixFileMode)0x1ED);
        var server = new ListingServer();
        server.Flat[""] = [RemoteDir("tree", treeTime)];
        server.Flat["tree"] = [RemoteFile("same", 10, s_when), RemoteFile("newer", 10, s_when), RemoteFile("longer", 12, s_when), RemoteDir("sub", subTime)];
        server.Deep["tree"] =
        [
            RemoteFile("same", 10, s_when), RemoteFile("newer", 10, s_when), RemoteFile("longer", 12, s_when), RemoteDir("sub", subTime),
            RemoteFile("sub/deep", 3, s_when),
        ];

        var plan = await JobPlanner.PlanUploadAsync(server, [src], s_server.WithPath("tree"), new ClientOptions(), null, CancellationToken.None);

        // Everything is there: nothing to do at all.
        Assert.Empty(plan.Entries);
        Assert.Equal(4, plan.Complete.Count);

        server.Deep["tree"][4] = RemoteFile("sub/deep", 2, s_when);
        plan = await JobPlanner.PlanUploadAsync(server, [src], s_server.WithPath("tree"), new ClientOptions(), null, CancellationToken.None);

        // sub/deep changes, so sub's and the tree's times must be set again after it.
        Assert.Equal(["tree/sub/deep", "tree/sub", "tree"], plan.Entries.Select(e => e.RemotePath));
    }

    [Fact]
    public async Task Download_skips_a_local_file_of_the_same_size_and_mtime_and_keeps_the_remote_metadata()
    {
        using var dir = new TempDir();
        string dest = dir.Combine("here");
        Directory.CreateDirectory(Path.Combine(dest, "pics"));
        File.WriteAllBytes(Path.Combine(dest, "pics", "a"), new byte[5]);
        File.SetLastWriteTimeUtc(Path.Combine(dest, "pics", "a"), DateTimeOffset.FromUnixTimeMilliseconds(s_when).UtcDateTime);
        File.WriteAllBytes(Path.Combine(dest, "pics", "b"), new byte[5]);
        var server = new ListingServer();
        server.Flat[""] = [RemoteDir("pics", s_when, 0x1C0)];
        server.Deep["pics"] = [RemoteFile("a", 5, s_when), RemoteFile("b", 5, s_when), new ListingEntry(ListingEntryType.Symlink, 0x1FF, 4, 0, "link")];

        var plan = await JobPlanner.PlanDownloadAsync(server, [s_server.WithPath("pics")], dest + "/", new ClientOptions(), CancellationToken.None);

        Assert.Equal([Path.Combine(dest, "pics", "a")], plan.Complete.Select(c => c.Path));
        Assert.Equal([Path.Combine(dest, "pics", "b"), Path.Combine(dest, "pics")], plan.Entries.Select(e => e.LocalPath));
        Assert.Equal(["pics/b", "pics"], plan.Entries.Select(e => e.RemotePath));
        var top = plan.Entries[1];
        Assert.Equal((s_when, 0x1C0), (top.MtimeUnixMs, top.Mode));
        Assert.Contains("skipped 'pics/link': a symbolic link on the server", Assert.Single(plan.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_of_a_missing_source_is_a_failure_of_its_own_and_the_others_go_on()
    {
        using var dir = new TempDir();
        var server = new ListingServer();
        server.Flat[""] = [RemoteFile("there", 3, s_when)];

        var plan = await JobPlanner.PlanDownloadAsync(
            server, [s_server.WithPath("there"), s_server.WithPath("gone")], dir.Path + "/", new ClientOptions(), CancellationToken.None);

        Assert.Equal("udp://127.0.0.1:9/gone", Assert.Single(plan.Failures).Path);
        Assert.Equal(FailureKind.NotFound, plan.Failures[0].Kind);
        Assert.Equal([Path.Combine(dir.Path, "there")], plan.Entries.Select(e => e.LocalPath));
        Assert.Equal(2, plan.FilesTotal);
    }

    [Fact]
    public async Task Several_sources_without_a_trailing_slash_are_refused_before_the_server_is_asked()
    {
        using var dir = new TempDir();
        string src = Tree(dir);
        var server = new ListingServer(); // knows nothing: any listing would fail as not found, not as a usage error

        var up = await Assert.ThrowsAsync<TransferException>(() =>
            JobPlanner.PlanUploadAsync(server, [src, src + "/same"], s_server.WithPath("inbox"), new ClientOptions(), null, CancellationToken.None));
        var down = await Assert.ThrowsAsync<TransferException>(() =>
            JobPlanner.PlanDownloadAsync(server, [s_server.WithPath("a"), s_server.WithPath("b")], dir.Combine("here"), new ClientOptions(), CancellationToken.None));

        Assert.Equal((ExitCode.Usage, ExitCode.Usage), (up.Code, down.Code));
        Assert.Contains("several sources need a destination ending in '/'", up.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_holding_only_a_file_of_its_own_name_is_a_directory()
    {
        // A listing of "d" alone reads the same for a file d and for a directory d holding a file d: the parent tells.
        using var dir = new TempDir();
        var server = new ListingServer();
        server.Flat[""] = [RemoteDir("d")];
        server.Flat["d"] = [RemoteFile("d", 1, s_when)];
        server.Deep["d"] = [RemoteFile("d", 1, s_when)];

        var plan = await JobPlanner.PlanDownloadAsync(server, [s_server.WithPath("d")], dir.Combine("copy"), new ClientOptions(), CancellationToken.None);

        Assert.Equal([Path.Combine(dir.Path, "copy", "d"), dir.Combine("copy")], plan.Entries.Select(e => e.LocalPath));
    }
}
