using System.Security.Cryptography;
using Ferry.Files;

namespace Ferry.Tests.Files;

public class DownloadTargetTests
{
    [Fact]
    public void ExistingDestination_RefusedWithOverwriteHint()
    {
        using var dir = new TempDir();
        string dest = dir.Combine("exists.txt");
        File.WriteAllText(dest, "mine");
        var ex = Assert.Throws<FileEngineException>(() => PartialFile.ForDownload(dest, 3, new FileIdentity(3, 1), overwrite: false));
        Assert.Equal(FileErrorCode.AlreadyExists, ex.Code);
        Assert.Contains("--overwrite", ex.Message, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(dest));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void ExistingDestination_ReplacedWithOverwrite()
    {
        using var dir = new TempDir();
        string dest = dir.Combine("exists.txt");
        File.WriteAllText(dest, "mine, longer than the new one");
        using (var pf = PartialFile.ForDownload(dest, 3, new FileIdentity(3, 1), overwrite: true))
        {
            pf.Write(0, "new"u8);
            pf.Commit(SHA256.HashData("new"u8));
        }

        Assert.Equal("new", File.ReadAllText(dest));
    }

    [Fact]
    public void DirectoryDestination_IsRefused()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<FileEngineException>(() => PartialFile.ForDownload(dir.Path, 3, new FileIdentity(3, 1), overwrite: true));
        Assert.Equal(FileErrorCode.NotRegularFile, ex.Code);
    }

    [Fact]
    public void ReservedDestinationName_IsRefused()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<FileEngineException>(() => PartialFile.ForDownload(dir.Combine("a.ferry-part"), 3, new FileIdentity(3, 1), overwrite: true));
        Assert.Equal(FileErrorCode.InvalidPath, ex.Code);
    }

    [Fact]
    public void SameDestinationTwice_SecondIsBusy()
    {
        using var dir = new TempDir();
        string dest = dir.Combine("twice.bin");
        using var first = PartialFile.ForDownload(dest, 10, new FileIdentity(10, 1), overwrite: false);
        var ex = Assert.Throws<FileEngineException>(() => PartialFile.ForDownload(dest, 10, new FileIdentity(10, 1), overwrite: false));
        Assert.Equal(FileErrorCode.Busy, ex.Code);
    }

    [Fact]
    public void Abort_WithoutKeep_RemovesTempAndJournal()
    {
        using var dir = new TempDir();
        string dest = dir.Combine("gone.bin");
        var pf = PartialFile.ForDownload(dest, 10, new FileIdentity(10, 1), overwrite: false);
        pf.Write(0, new byte[5]);
        pf.Checkpoint();
        pf.Abort(keepForResume: false);
        pf.Dispose();
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void WriteOutsideSize_Throws()
    {
        using var dir = new TempDir();
        using var pf = PartialFile.ForDownload(dir.Combine("s.bin"), 10, new FileIdentity(10, 1), overwrite: false);
        Assert.Throws<ArgumentOutOfRangeException>(() => pf.Write(8, new byte[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => pf.Write(-1, new byte[1]));
        Assert.Throws<InvalidOperationException>(() => pf.Commit(new byte[32]));
    }
}
