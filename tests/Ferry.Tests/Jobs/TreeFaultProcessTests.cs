using System.Text.Json;
using Ferry.Tests.Files;
using Ferry.Tests.Hosting;
using Ferry.Tests.Support;
using Xunit.Abstractions;

namespace Ferry.Tests.Jobs;

/// <summary>
/// Trees moved by the real <c>ferry</c> against the real <c>ferry serve</c> (or in-process servers) on 127.0.0.1 when
/// things go wrong: the client or the server killed (SIGKILL) mid-tree and the same command run again, two clients
/// uploading overlapping trees to one directory at once, symbolic links on the server that point out of the root.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TreeFaultProcessTests(ITestOutputHelper output) : IDisposable
{
    private const int SigKill = 9;
    private const int SmallFiles = 300;
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(2);

    private readonly TempDir _dir = new();

    /// <summary>A known_hosts of this test alone: every <c>ferry serve</c> has its own key, and ports are reused.</summary>
    private (string Name, string Value) KnownHosts => ("FERRY_KNOWN_HOSTS", _dir.Combine("known_hosts"));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public Task Tcp_client_killed_mid_tree_then_the_same_command_finishes_and_skips_what_was_complete() => ClientKilledMidTree("tcp");

    [Fact]
    public Task Udp_client_killed_mid_tree_then_the_same_command_finishes_and_skips_what_was_complete() => ClientKilledMidTree("udp");

    /// <summary>
    /// The tcp:// server receives far faster than it commits files: by the time the first files are under their final
    /// names, 32 MiB would all be at the server already. A larger last file is still on its way then.
    /// </summary>
    private static int BigBytes(string scheme) => scheme == "tcp" ? 256 << 20 : 32 << 20;

    private async Task ClientKilledMidTree(string scheme)
    {
        string root = _dir.Combine("root"), state = _dir.Combine("state");
        string tree = MakeTree(_dir.Combine("src"), "tree", seed: 1, BigBytes(scheme));
        using var server = await Serve.StartAsync(scheme, root, state);
        string[] send = ["send", "--json", tree, server.Url("up/")];
        string stored = Path.Combine(root, "up", "tree");

        var (doneBefore, atServer) = await KillMidTree(send, stored, tree, killServer: null);

        using var again = new FerryProcess(send, KnownHosts);
        int exit = await again.WaitExitAsync(s_limit);
        Assert.True(exit == 0, $"exit {exit}: {again.StandardError}\nserver: {server.Log}");
        AssertSameFiles(tree, stored);
        AssertSentAgainOnlyTheRest(again, doneBefore, atServer);
    }

    [Fact]
    public async Task Tcp_server_killed_mid_tree_restarted_on_its_root_and_state_then_the_same_command_finishes()
    {
        string root = _dir.Combine("root"), state = _dir.Combine("state");
        string tree = MakeTree(_dir.Combine("src"), "tree", seed: 2, BigBytes("tcp"));
        var server = await Serve.StartAsync("tcp", root, state);
        string[] send = ["send", "--json", tree, server.Url("up/")];
        string stored = Path.Combine(root, "up", "tree");
        int port = server.Port;
        HashSet<string> doneBefore, atServer;
        try
        {
            (doneBefore, atServer) = await KillMidTree(send, stored, tree, async () =>
            {
                server.Process.Signal(SigKill);
                await server.Process.WaitExitAsync(s_limit);
            });
        }
        finally
        {
            server.Dispose();
        }

        using var restarted = await Serve.StartAsync("tcp", root, state, port);
        using var again = new FerryProcess(send, KnownHosts);
        int exit = await again.WaitExitAsync(s_limit);
        Assert.True(exit == 0, $"exit {exit}: {again.StandardError}\nserver: {restarted.Log}");
        AssertSameFiles(tree, stored);
        AssertSentAgainOnlyTheRest(again, doneBefore, atServer);
    }

    /// <summary>
    /// Runs <paramref name="send"/> and, once the first files are complete at the server, kills the client (or, with
    /// <paramref name="killServer"/>, the server, and waits for the client to give up). Returns the files the client reported done and the files under
    /// their final names at the server after the kill; checks that the kill landed mid-tree and that every file
    /// under its final name is whole.
    /// </summary>
    private async Task<(HashSet<string> DoneBefore, HashSet<string> AtServer)> KillMidTree(string[] send, string stored, string tree, Func<Task>? killServer)
    {
        using var first = new FerryProcess(send, KnownHosts);
        // Loopback moves data faster than the server commits files: the first files under their final names at the
        // server are the earliest sign that the tree is under way.
        await WaitUntilAsync(() => first.HasExited || FileEvents(first, "done").Any() || Files(stored).Count(f => !Path.GetFileName(f).StartsWith('.')) >= 3, first);
        Assert.False(first.HasExited, $"the first run ended before the kill: {first.StandardError}");
        if (killServer is null)
        {
            first.Signal(SigKill);
        }
        else
        {
            await killServer();
        }

        int killedExit = await first.WaitExitAsync(s_limit);
        output.WriteLine($"first run: exit {killedExit}; {first.StandardError}");
        Assert.NotEqual(0, killedExit);

        var doneBefore = FileEvents(first, "done").Select(RelativeOf).ToHashSet(StringComparer.Ordinal);
        var atServer = Files(stored).Where(f => !Path.GetFileName(f).StartsWith('.')).ToHashSet(StringComparer.Ordinal);
        output.WriteLine($"before the kill: {doneBefore.Count} reported done, {atServer.Count} under their final names at the server");
        Assert.True(atServer.Count < SmallFiles + 1, "the kill landed after the whole tree was at the server");
        foreach (string f in atServer)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(tree, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(stored, f))), $"{f} is under its final name but not whole");
        }

        return (doneBefore, atServer);
    }

    /// <summary>The files complete at the server before the interruption are reported skipped, every other file done.</summary>
    private void AssertSentAgainOnlyTheRest(FerryProcess again, HashSet<string> doneBefore, HashSet<string> atServer)
    {
        output.WriteLine($"second run: {again.Events.Last(e => e.GetProperty("event").GetString() == "done")}");
        var skipped = FileEvents(again, "skipped").Select(RelativeOf).ToHashSet(StringComparer.Ordinal);
        var done = FileEvents(again, "done").Select(RelativeOf).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(doneBefore.Except(skipped));
        Assert.Empty(atServer.Except(skipped));
        Assert.Empty(done.Intersect(atServer));
        Assert.Equal(SmallFiles + 1, skipped.Count + done.Count);
        Assert.NotEmpty(done);
    }

    [Fact]
    public async Task Tcp_two_clients_upload_overlapping_trees_to_one_directory_at_once()
    {
        string root = _dir.Combine("root"), state = _dir.Combine("state");
        string a = MakeOverlapping(_dir.Combine("a"), "A", seed: 10);
        string b = MakeOverlapping(_dir.Combine("b"), "B", seed: 20);
        using var server = await Serve.StartAsync("tcp", root, state);
        string url = server.Url("dst/");
        string stored = Path.Combine(root, "dst", "tree");

        // Each run held to 24 Mbit/s (about 4.5 s for its 13 MB): the two overlap however late either process starts
        // on a loaded machine, where at full speed one could finish before the other has begun.
        using var clientA = new FerryProcess(["send", "--json", "--limit-rate", "24M", a, url], KnownHosts);
        using var clientB = new FerryProcess(["send", "--json", "--limit-rate", "24M", b, url], KnownHosts);
        // Both runs must be under way at once: each reports its first file before the other has ended.
        bool overlapped = false;
        await WaitUntilAsync(
            () =>
            {
                overlapped |= FileEvents(clientA).Any() && FileEvents(clientB).Any() && !(clientA.HasExited && clientB.HasExited);
                return clientA.HasExited && clientB.HasExited;
            },
            null);
        int exitA = await clientA.WaitExitAsync(s_limit), exitB = await clientB.WaitExitAsync(s_limit);
        foreach (var (name, client, exit) in new[] { ("A", clientA, exitA), ("B", clientB, exitB) })
        {
            var failed = FileEvents(client, "failed").ToList();
            output.WriteLine($"{name}: exit {exit}, {FileEvents(client, "done").Count()} done, {FileEvents(client, "skipped").Count()} skipped, {failed.Count} failed");
            foreach (var f in failed.Take(5))
            {
                output.WriteLine($"  {f}");
            }

            Assert.True(exit is 0 or 8, $"{name}: exit {exit}: {client.StandardError}");
            Assert.Equal(exit == 8, failed.Count > 0);
            Assert.All(failed, f => Assert.StartsWith("common/", RelativeOf(f), StringComparison.Ordinal));
        }

        Assert.True(overlapped, "the two runs did not overlap");

        // Every file under the root is one of the two versions, the one of the client that reported it done.
        var doneA = FileEvents(clientA, "done").Select(RelativeOf).ToHashSet(StringComparer.Ordinal);
        var doneB = FileEvents(clientB, "done").Select(RelativeOf).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(doneA.Intersect(doneB));
        var all = Files(a).Union(Files(b)).ToHashSet(StringComparer.Ordinal);
        var present = Files(stored).Where(f => !Path.GetFileName(f).StartsWith('.')).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(all.Order(StringComparer.Ordinal), present.Order(StringComparer.Ordinal));
        foreach (string f in present)
        {
            byte[] got = File.ReadAllBytes(Path.Combine(stored, f));
            bool isA = File.Exists(Path.Combine(a, f)) && got.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(a, f)));
            bool isB = File.Exists(Path.Combine(b, f)) && got.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, f)));
            Assert.True(isA || isB, $"{f}: neither version");
            Assert.True(!doneA.Contains(f) || isA, $"{f}: A reported it done, B's version is there");
            Assert.True(!doneB.Contains(f) || isB, $"{f}: B reported it done, A's version is there");
        }

        var leftOver = Directory.GetFiles(root, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f).StartsWith('.')).ToList();
        output.WriteLine($"hidden files left under the root: {leftOver.Count} {string.Join(", ", leftOver.Take(5))}");
    }

    [Fact]
    public async Task Tcp_symlink_out_of_the_root_is_listed_as_a_link_and_a_tree_download_does_not_follow_it()
    {
        await using var env = new Tcp.TcpTestEnv();
        MakeLinks(env.Root);
        var server = await env.StartServerAsync();
        await AssertLinksNotFollowed(server.Url(string.Empty).ToString(), env.Local);
    }

    [Fact]
    public async Task Udp_symlink_out_of_the_root_is_listed_as_a_link_and_a_tree_download_does_not_follow_it()
    {
        await using var server = new UdpServerFixture();
        MakeLinks(server.Root);
        await AssertLinksNotFollowed(server.Url(string.Empty).ToString(), server.Local("local"));
    }

    private static void MakeLinks(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "pub", "d"));
        File.WriteAllText(Path.Combine(root, "pub", "a.txt"), "a");
        File.WriteAllText(Path.Combine(root, "pub", "d", "b.txt"), "b");
        File.CreateSymbolicLink(Path.Combine(root, "pub", "out"), "/etc");
        File.CreateSymbolicLink(Path.Combine(root, "pub", "d", "pw"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(root, "etclink"), "/etc");
    }

    /// <summary>
    /// ls -R lists the links as links and does not descend; get of the parent directory copies the files and skips
    /// each link with a warning (exit 0); a path through a link is refused (exit 3).
    /// </summary>
    private async Task AssertLinksNotFollowed(string url, string local)
    {
        var ls = await FerryRun.RunAsync(["ls", "-R", "--json", url]);
        string lsOut = System.Text.Encoding.UTF8.GetString(ls.StandardOutput);
        Assert.True(ls.ExitCode == 0, $"exit {ls.ExitCode}: {ls.StandardError}");
        var entries = lsOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("event").GetString() == "entry")
            .ToDictionary(e => e.GetProperty("path").GetString()!, e => e.GetProperty("type").GetString()!);
        Assert.Equal("symlink", entries["etclink"]);
        Assert.Equal("symlink", entries["pub/out"]);
        Assert.Equal("symlink", entries["pub/d/pw"]);
        Assert.Equal(["etclink", "pub", "pub/a.txt", "pub/d", "pub/d/b.txt", "pub/d/pw", "pub/out"], entries.Keys.Order(StringComparer.Ordinal));

        var longLs = await FerryRun.RunAsync(["ls", "-R", "-l", url]);
        string longOut = System.Text.Encoding.UTF8.GetString(longLs.StandardOutput);
        Assert.Contains(longOut.Split('\n'), l => l.StartsWith('l') && l.EndsWith("  pub/out", StringComparison.Ordinal));

        string dest = Path.Combine(local, "dest");
        var get = await FerryRun.RunAsync(["get", "--json", url + "pub", dest + "/"], limit: s_limit);
        output.WriteLine($"get: exit {get.ExitCode}; {get.StandardError}");
        Assert.True(get.ExitCode == 0, $"exit {get.ExitCode}: {get.StandardError}");
        Assert.Equal(["pub/a.txt", "pub/d/b.txt"], Files(dest).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(dest, "*", SearchOption.AllDirectories), p => new FileInfo(p).LinkTarget is not null);
        Assert.Contains("skipped 'pub/out': a symbolic link on the server", get.StandardError, StringComparison.Ordinal);
        Assert.Contains("skipped 'pub/d/pw': a symbolic link on the server", get.StandardError, StringComparison.Ordinal);

        // A path through the link is refused by the server.
        var through = await FerryRun.RunAsync(["get", url + "pub/out/passwd", dest + "/"], limit: s_limit);
        // A single file into an existing directory: the exit code of one refused transfer.
        Assert.True(through.ExitCode == 3, $"exit {through.ExitCode}: {through.StandardError}");
        Assert.Contains("leads outside the server root", through.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dest, "passwd")));
    }

    /// <summary>
    /// <paramref name="parent"/>/<paramref name="name"/>: <see cref="SmallFiles"/> files of 20-60 KiB in ten
    /// directories and one file of <paramref name="bigBytes"/>, last in the job's order.
    /// </summary>
    private static string MakeTree(string parent, string name, int seed, int bigBytes)
    {
        string root = Path.Combine(parent, name);
        var rng = new Random(seed);
        for (int i = 0; i < SmallFiles; i++)
        {
            Write(Path.Combine(root, $"d{i % 10}", $"f{i:D3}.dat"), rng.Next(20 << 10, 60 << 10), rng);
        }

        Write(Path.Combine(root, "zz-big.bin"), bigBytes, rng);
        return root;
    }

    /// <summary>A tree "tree" whose "common/" names exist in the other client's tree too, with other sizes and bytes.</summary>
    private static string MakeOverlapping(string parent, string who, int seed)
    {
        string root = Path.Combine(parent, "tree");
        var rng = new Random(seed);
        for (int i = 0; i < 120; i++)
        {
            Write(Path.Combine(root, "common", $"c{i:D3}"), (20 << 10) + (i * 37) + (who == "A" ? 0 : 1), rng);
        }

        for (int i = 0; i < 60; i++)
        {
            Write(Path.Combine(root, "only" + who, $"f{i:D3}"), rng.Next(20 << 10, 60 << 10), rng);
        }

        Write(Path.Combine(root, "common", "big.bin"), (8 << 20) + (who == "A" ? 0 : 1), rng);
        return root;
    }

    private static void Write(string path, int size, Random rng)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var data = new byte[size];
        rng.NextBytes(data);
        File.WriteAllBytes(path, data);
    }

    /// <summary>Every regular file below <paramref name="root"/>, by relative path ('/'-separated).</summary>
    private static IEnumerable<string> Files(string root) =>
        Directory.Exists(root)
            ? new DirectoryInfo(root).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
                .Where(f => f.LinkTarget is null)
                .Select(f => Path.GetRelativePath(root, f.FullName).Replace('\\', '/'))
            : [];

    private static void AssertSameFiles(string expected, string actual)
    {
        var want = Files(expected).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(want, Files(actual).Order(StringComparer.Ordinal));
        foreach (string f in want)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(expected, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, f))), $"{f} differs");
        }
    }

    /// <summary>The file events of a run (of regular files), with this status if given.</summary>
    private static IEnumerable<JsonElement> FileEvents(FerryProcess run, string? status = null) =>
        run.Events.Where(e => e.GetProperty("event").GetString() == "file" && !e.TryGetProperty("type", out _)
            && (status is null || e.GetProperty("status").GetString() == status));

    /// <summary>The path of a file event relative to the uploaded tree ("up/tree/d1/f001.dat" -> "d1/f001.dat").</summary>
    private static string RelativeOf(JsonElement fileEvent)
    {
        string path = fileEvent.GetProperty("path").GetString()!;
        int tree = path.IndexOf("/tree/", StringComparison.Ordinal);
        Assert.True(tree >= 0, path);
        return path[(tree + "/tree/".Length)..];
    }

    /// <summary>Polls an observable condition (the collected output of processes, files) until it holds; bounded.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, FerryProcess? process)
    {
        var deadline = DateTime.UtcNow + s_limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not reached; stderr: {process?.StandardError}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>The real <c>ferry serve</c> with one listener (tcp or udp) on 127.0.0.1.</summary>
    private sealed class Serve(FerryProcess process, string scheme, int port) : IDisposable
    {
        public FerryProcess Process { get; } = process;

        public int Port { get; } = port;

        public string Log => Process.StandardError;

        public static async Task<Serve> StartAsync(string scheme, string root, string state, int port = 0)
        {
            var (process, actual) = await ServeHarness.StartServeAsync(scheme, ServeHarness.Only(root, state, scheme, port));
            return new Serve(process, scheme, actual);
        }

        public string Url(string path) => $"{scheme}://127.0.0.1:{Port}/{path}";

        public void Dispose() => Process.Dispose();
    }
}
