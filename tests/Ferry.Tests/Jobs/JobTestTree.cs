using System.Collections.Concurrent;
using Ferry.Jobs;
using Ferry.Transfers;

namespace Ferry.Tests.Jobs;

/// <summary>The tree the job tests of every scheme move, and how they check it arrived.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class JobTestTree
{
    private static readonly string[] s_oddNames = ["with space.txt", "ünïcødé ✓.bin", "hash#1.txt", "what?.txt", "pct%41.txt"];

    public sealed record TreeEntry(string Relative, bool IsDirectory, int Mode, long Mtime, long Size = 0);

    /// <summary>A tree with nested and empty directories, 0-byte files, odd names, many small files and a few larger ones.</summary>
    public static List<TreeEntry> Make(string root, int smallFiles, int blockSize)
    {
        var tree = new List<TreeEntry>();
        var rng = new Random(1234);
        void AddFile(string rel, int size, int mode)
        {
            string full = Path.Combine(root, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            var data = new byte[size];
            rng.NextBytes(data);
            File.WriteAllBytes(full, data);
            File.SetUnixFileMode(full, (UnixFileMode)mode);
            long mtime = 1_600_000_000_000 + (tree.Count * 1000);
            File.SetLastWriteTimeUtc(full, DateTimeOffset.FromUnixTimeMilliseconds(mtime).UtcDateTime);
            tree.Add(new TreeEntry(rel, false, mode, mtime, size));
        }

        for (int i = 0; i < smallFiles; i++)
        {
            AddFile($"small/d{i % 20:D2}/f{i:D4}.dat", rng.Next(0, 3000), i % 3 == 0 ? 0x1ED : 0x1A4);
        }

        AddFile("zero.bin", 0, 0x180);
        AddFile("deep/a/b/c/zero too", 0, 0x1A4);
        foreach (string name in s_oddNames)
        {
            AddFile($"odd/{name}", 777, 0x1A4);
        }

        AddFile("large/one.bin", (3 * blockSize) + 123, 0x1A4);
        AddFile("large/two.bin", (5 * blockSize) + 7, 0x1E4);
        Directory.CreateDirectory(Path.Combine(root, "empty", "inner"));

        // Directories: every one, deepest first, after the files (as a job planner hands them over).
        var dirs = Directory.GetDirectories(root, "*", SearchOption.AllDirectories)
            .Select(d => Path.GetRelativePath(root, d).Replace('\\', '/'))
            .OrderByDescending(d => d.Count(c => c == '/')).ThenBy(d => d, StringComparer.Ordinal).ToList();
        foreach (string d in dirs)
        {
            string full = Path.Combine(root, d);
            File.SetUnixFileMode(full, (UnixFileMode)0x1ED);
            long mtime = 1_500_000_000_000 + (tree.Count * 1000);
            tree.Add(new TreeEntry(d, true, 0x1ED, mtime));
        }

        foreach (var e in tree.Where(e => e.IsDirectory))
        {
            Directory.SetLastWriteTimeUtc(Path.Combine(root, e.Relative), DateTimeOffset.FromUnixTimeMilliseconds(e.Mtime).UtcDateTime);
        }

        return tree;
    }

    public static List<JobEntry> Plan(string localRoot, string remoteRoot, List<TreeEntry> tree) =>
        tree.Select((e, i) => new JobEntry(
            i,
            e.IsDirectory ? JobEntryKind.Directory : JobEntryKind.File,
            Path.Combine(localRoot, e.Relative),
            $"{remoteRoot}/{e.Relative}",
            e.Size,
            e.Mtime,
            e.Mode)).ToList();

    public static void AssertSame(string expectedRoot, string actualRoot, List<TreeEntry> tree)
    {
        foreach (var e in tree)
        {
            string expected = Path.Combine(expectedRoot, e.Relative), actual = Path.Combine(actualRoot, e.Relative);
            if (e.IsDirectory)
            {
                Assert.True(Directory.Exists(actual), actual);
            }
            else
            {
                Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(actual));
            }

            Assert.Equal((UnixFileMode)e.Mode, File.GetUnixFileMode(actual) & (UnixFileMode)0x1FF);
            Assert.Equal(e.Mtime, new DateTimeOffset(File.GetLastWriteTimeUtc(actual)).ToUnixTimeMilliseconds());
        }
    }
}

/// <summary>Records a carrier's reports; an entry reported twice fails the test.</summary>
internal sealed class JobTestObserver : IJobObserver
{
    public ConcurrentDictionary<int, TransferResult> Done { get; } = new();

    public ConcurrentDictionary<int, (FailureKind Kind, string Message)> Failed { get; } = new();

    public long ProgressBytes;

    public void EntryProgress(int index, long bytesDone, long resumedBytes) => Interlocked.Exchange(ref ProgressBytes, Math.Max(Interlocked.Read(ref ProgressBytes), bytesDone));

    public void EntryDone(int index, TransferResult result) => Assert.True(Done.TryAdd(index, result), $"entry {index} reported twice");

    public void EntryFailed(int index, FailureKind kind, string message) => Assert.True(Failed.TryAdd(index, (kind, message)), $"entry {index} reported twice");
}
