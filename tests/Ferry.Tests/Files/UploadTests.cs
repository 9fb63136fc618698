using System.Security.Cryptography;
using Ferry.Files;

namespace Ferry.Tests.Files;

public class UploadTests
{
    private static byte[] RandomBytes(int seed, int length)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public void Commit_HappyPath_FileAppearsOnlyAfterCommit()
    {
        using var fx = new EngineFixture();
        var data = RandomBytes(1, 3_000_017);
        using (var up = fx.Engine.BeginUpload("dir/sub/file.bin", data.Length, new FileIdentity(data.Length, 1), "test"))
        {
            for (int off = 0; off < data.Length; off += 1400)
            {
                int n = Math.Min(1400, data.Length - off);
                up.File.Write(off, data.AsSpan(off, n));
            }

            Assert.False(File.Exists(fx.InRoot("dir/sub/file.bin")));
            Assert.True(up.File.IsComplete);
            up.File.Commit(SHA256.HashData(data));
            Assert.True(up.File.IsCommitted);
        }

        Assert.Equal(data, File.ReadAllBytes(fx.InRoot("dir/sub/file.bin")));
        Assert.Empty(Directory.GetFiles(fx.InRoot("dir/sub"), "*.ferry-part"));
        Assert.Empty(Directory.GetFiles(Path.Combine(fx.StateDir, "journals")));
        Assert.Equal(0, fx.Engine.Registry.Count);

        using var read = fx.Engine.OpenRead("dir/sub/file.bin");
        Assert.Equal(data.Length, read.Length);
        using var src = read.CreateHashingSource();
        var buf = new byte[1400];
        for (long off = 0; off < read.Length; off += 1400)
        {
            int n = src.Read(off, buf);
            Assert.True(data.AsSpan((int)off, n).SequenceEqual(buf.AsSpan(0, n)));
        }

        Assert.Equal(SHA256.HashData(data), src.CompleteHash());
    }

    private static string Hex(byte[] b) => Convert.ToHexStringLower(b);

    private static void WriteAll(PartialFile file, byte[] data, int chunk = 1400)
    {
        for (int off = 0; off < data.Length; off += chunk)
        {
            file.Write(off, data.AsSpan(off, Math.Min(chunk, data.Length - off)));
        }
    }

    private static string[] Litter(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(ReservedNames.PartSuffix, StringComparison.Ordinal) || f.EndsWith(ReservedNames.JournalSuffix, StringComparison.Ordinal))
            .ToArray();

    [Fact]
    public void EmptyFile_Commits()
    {
        using var fx = new EngineFixture();
        using (var up = fx.Engine.BeginUpload("empty", 0, null, "test"))
        {
            Assert.True(up.File.IsComplete);
            up.File.Commit(SHA256.HashData(ReadOnlySpan<byte>.Empty));
        }

        Assert.Equal(0, new FileInfo(fx.InRoot("empty")).Length);
    }

    [Fact]
    public void IntegrityMismatch_DeletesTempAndJournal_NoFinalFile()
    {
        using var fx = new EngineFixture();
        var data = RandomBytes(2, 100_000);
        using (var up = fx.Engine.BeginUpload("x/bad.bin", data.Length, new FileIdentity(data.Length, 5), "test"))
        {
            WriteAll(up.File, data);
            up.File.Checkpoint();
            Assert.True(File.Exists(up.File.TempPath));
            Assert.True(File.Exists(up.File.JournalPath));
            var wrong = SHA256.HashData(data);
            wrong[0] ^= 1;
            var ex = Assert.Throws<FileEngineException>(() => up.File.Commit(wrong));
            Assert.Equal(FileErrorCode.Integrity, ex.Code);
            Assert.Contains("SHA-256", ex.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(up.File.TempPath));
            Assert.False(File.Exists(up.File.JournalPath));
        }

        Assert.False(File.Exists(fx.InRoot("x/bad.bin")));
        Assert.Empty(Litter(fx.Root));
        Assert.Empty(Litter(fx.StateDir));
        Assert.Equal(0, fx.Engine.Registry.Count);
    }

    [Fact]
    public void ExistingTarget_RefusedWithoutAllowOverwrite()
    {
        using var fx = new EngineFixture();
        File.WriteAllText(fx.InRoot("keep.txt"), "original");
        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("keep.txt", 3, null, "test"));
        Assert.Equal(FileErrorCode.AlreadyExists, ex.Code);
        Assert.Contains("allow-overwrite", ex.Message, StringComparison.Ordinal);
        Assert.Equal("original", File.ReadAllText(fx.InRoot("keep.txt")));
        Assert.Equal(0, fx.Engine.Registry.Count);
        Assert.Empty(Litter(fx.Root));
    }

    [Fact]
    public void TargetCreatedDuringUpload_IsNotOverwrittenAtCommit()
    {
        using var fx = new EngineFixture();
        var data = RandomBytes(3, 5000);
        using var up = fx.Engine.BeginUpload("race.bin", data.Length, new FileIdentity(data.Length, 1), "test");
        WriteAll(up.File, data);
        File.WriteAllText(fx.InRoot("race.bin"), "someone else");
        var ex = Assert.Throws<FileEngineException>(() => up.File.Commit(SHA256.HashData(data)));
        Assert.Equal(FileErrorCode.AlreadyExists, ex.Code);
        Assert.Equal("someone else", File.ReadAllText(fx.InRoot("race.bin")));
        // The verified data is kept for a retry.
        Assert.True(File.Exists(up.File.TempPath));
    }

    [Fact]
    public void ExistingTarget_ReplacedWithAllowOverwrite()
    {
        using var fx = new EngineFixture(allowOverwrite: true);
        File.WriteAllText(fx.InRoot("over.txt"), "original contents that are longer");
        var data = "new"u8.ToArray();
        using (var up = fx.Engine.BeginUpload("over.txt", data.Length, null, "test"))
        {
            up.File.Write(0, data);
            Assert.Equal("original contents that are longer", File.ReadAllText(fx.InRoot("over.txt")));
            up.File.Commit(SHA256.HashData(data));
        }

        Assert.Equal("new", File.ReadAllText(fx.InRoot("over.txt")));
        Assert.Empty(Litter(fx.Root));
    }

    [Fact]
    public void ConcurrentSamePath_IsBusy_UntilDisposed()
    {
        using var fx = new EngineFixture();
        var first = fx.Engine.BeginUpload("same.bin", 10, null, "udp 127.0.0.1:5555");
        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("same.bin", 10, null, "tcp 127.0.0.1:6666"));
        Assert.Equal(FileErrorCode.Busy, ex.Code);
        Assert.Contains("udp 127.0.0.1:5555", ex.Message, StringComparison.Ordinal);
        Assert.True(fx.Engine.Registry.IsBusy(fx.Engine.ResolvePath("same.bin")));

        // Another path is not affected.
        using (fx.Engine.BeginUpload("other.bin", 10, null, "x"))
        {
        }

        first.Dispose();
        Assert.False(fx.Engine.Registry.IsBusy(fx.Engine.ResolvePath("same.bin")));
        using var second = fx.Engine.BeginUpload("same.bin", 10, null, "tcp 127.0.0.1:6666");
        Assert.Equal(1, fx.Engine.Registry.Count);
    }

    [Fact]
    public void SamePathThroughSymlinkedDir_IsBusy()
    {
        using var fx = new EngineFixture();
        Directory.CreateDirectory(fx.InRoot("real"));
        Directory.CreateSymbolicLink(fx.InRoot("alias"), "real");
        using var first = fx.Engine.BeginUpload("real/f.bin", 10, null, "one");
        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("alias/f.bin", 10, null, "two"));
        Assert.Equal(FileErrorCode.Busy, ex.Code);
    }

    [Fact]
    public void Registry_ConcurrentAcquire_ExactlyOneWins()
    {
        var registry = new UploadRegistry();
        int winners = 0;
        var leases = new System.Collections.Concurrent.ConcurrentBag<IDisposable>();
        Parallel.For(0, 64, i =>
        {
            if (registry.TryAcquire("/r/p", $"owner{i}", out var lease, out var current))
            {
                Interlocked.Increment(ref winners);
                leases.Add(lease!);
            }
            else
            {
                Assert.StartsWith("owner", current, StringComparison.Ordinal);
            }
        });
        Assert.Equal(1, winners);
        var only = Assert.Single(leases);
        only.Dispose();
        only.Dispose();
        Assert.False(registry.IsBusy("/r/p"));
        Assert.True(registry.TryAcquire("/r/p", "again", out var l2, out _));
        l2!.Dispose();
    }

    [Fact]
    public void TooLarge_IsRefused()
    {
        using var fx = new EngineFixture();
        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("huge", long.MaxValue, null, "t"));
        Assert.Equal(FileErrorCode.TooLarge, ex.Code);
    }

    [Fact]
    public void NotEnoughFreeSpace_IsRefused_NothingLeftBehind()
    {
        using var fx = new EngineFixture(margin: 0);
        long free = new DriveInfo(fx.Root).AvailableFreeSpace;
        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("big/file.bin", free + (1L << 30), null, "t"));
        Assert.Equal(FileErrorCode.NoSpace, ex.Code);
        Assert.Contains("free space", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Litter(fx.Root));
        Assert.Equal(0, fx.Engine.Registry.Count);
    }

    [Fact]
    public void FreeSpaceMargin_IsCounted()
    {
        long free = new DriveInfo(Path.GetTempPath()).AvailableFreeSpace;
        using var fx = new EngineFixture(margin: free);
        var ex = Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload("m.bin", 1L << 20, null, "t"));
        Assert.Equal(FileErrorCode.NoSpace, ex.Code);
    }
}
