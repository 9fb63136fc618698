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

    [Fact]
    public void TooFragmented_IsRefused_ButFillingHolesStillWorks()
    {
        using var dir = new TempDir();
        using var pf = PartialFile.ForDownload(dir.Combine("frag.bin"), 1000, new FileIdentity(1000, 1), overwrite: false);
        pf.RangeLimit = 10;
        for (int i = 0; i < 10; i++)
        {
            pf.Write(i * 10, new byte[1]);
        }

        var ex = Assert.Throws<FileEngineException>(() => pf.Write(500, new byte[1]));
        Assert.Equal(FileErrorCode.TooLarge, ex.Code);
        Assert.Equal(10, pf.Received.Count);

        // Extending or joining existing ranges does not add one, so it is still accepted.
        pf.Write(1, new byte[9]);
        pf.Write(91, new byte[5]);
        Assert.Equal(9, pf.Received.Count);
    }

    [Fact]
    public void ExtendSize_GrowsUploadOfUnknownSize()
    {
        using var fx = new EngineFixture();
        var data = new byte[3000];
        new Random(31).NextBytes(data);
        using (var up = fx.Engine.BeginUpload("grow.bin", 0, null, "zmq"))
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => up.File.Write(0, data.AsSpan(0, 1000)));
            up.File.ExtendSize(1000);
            up.File.Write(0, data.AsSpan(0, 1000));
            up.File.ExtendSize(500);
            Assert.Equal(1000, up.File.Size);
            up.File.ExtendSize(3000);
            Assert.False(up.File.IsComplete);
            up.File.Write(1000, data.AsSpan(1000));
            up.File.Commit(SHA256.HashData(data));
        }

        Assert.Equal(data, File.ReadAllBytes(fx.InRoot("grow.bin")));
    }

    [Fact]
    public void OpenLocal_ReadsRegularFiles_RefusesOthers()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("a.txt"), "abc");
        File.CreateSymbolicLink(dir.Combine("link"), dir.Combine("a.txt"));
        using (var f = ReadableFile.OpenLocal(dir.Combine("link")))
        {
            Assert.Equal(3, f.Length);
            Assert.Equal(3, f.Identity.Size);
        }

        Assert.Equal(FileErrorCode.NotFound, Assert.Throws<FileEngineException>(() => ReadableFile.OpenLocal(dir.Combine("none"))).Code);
        Assert.Equal(FileErrorCode.NotRegularFile, Assert.Throws<FileEngineException>(() => ReadableFile.OpenLocal(dir.Path)).Code);
        TestNative.MakeFifo(dir.Combine("fifo"));
        Assert.Equal(FileErrorCode.NotRegularFile, Assert.Throws<FileEngineException>(() => ReadableFile.OpenLocal(dir.Combine("fifo"))).Code);
    }

    [Theory]
    [InlineData(FileErrorCode.InvalidPath, false, Ferry.Transfers.ExitCode.Refused)]
    [InlineData(FileErrorCode.Busy, false, Ferry.Transfers.ExitCode.Refused)]
    [InlineData(FileErrorCode.NoSpace, false, Ferry.Transfers.ExitCode.Refused)]
    [InlineData(FileErrorCode.Integrity, false, Ferry.Transfers.ExitCode.Integrity)]
    [InlineData(FileErrorCode.Integrity, true, Ferry.Transfers.ExitCode.Integrity)]
    [InlineData(FileErrorCode.NoSpace, true, Ferry.Transfers.ExitCode.LocalIo)]
    [InlineData(FileErrorCode.Io, true, Ferry.Transfers.ExitCode.LocalIo)]
    public void ErrorCodes_MapToExitCodes(FileErrorCode code, bool local, Ferry.Transfers.ExitCode expected)
    {
        Assert.Equal(expected, code.ToExitCode(local));
    }

    [Fact]
    public void Fifo_destination_is_refused_even_with_overwrite_and_left_alone()
    {
        using var dir = new TempDir();
        string fifo = dir.Combine("pipe");
        TestNative.MakeFifo(fifo);
        var ex = Assert.Throws<FileEngineException>(() => PartialFile.ForDownload(fifo, 3, new FileIdentity(3, 1), overwrite: true));
        Assert.Equal(FileErrorCode.NotRegularFile, ex.Code);
        Assert.Contains("fifo", ex.Message, StringComparison.Ordinal);
        Assert.Equal(NativeFile.S_IFIFO, StatType(fifo));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path)); // no temp file was made beside it
    }

    [Fact]
    public void Socket_destination_is_refused_before_connecting()
    {
        using var dir = new TempDir();
        string path = dir.Combine("sock");
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        var ex = Assert.Throws<Ferry.Transfers.TransferException>(() => DownloadDestination.CheckBeforeConnecting(path, overwrite: true));
        Assert.Equal(Ferry.Transfers.ExitCode.LocalIo, ex.Code);
        Assert.Contains("socket", ex.Message, StringComparison.Ordinal);
    }

    [RootFact]
    public void Device_destination_is_refused_with_overwrite_and_stays_a_device()
    {
        using var dir = new TempDir();
        string dev = dir.Combine("null");
        TestNative.MakeNullDevice(dev);
        var ex = Assert.Throws<FileEngineException>(() => PartialFile.ForDownload(dev, 3, new FileIdentity(3, 1), overwrite: true));
        Assert.Equal(FileErrorCode.NotRegularFile, ex.Code);
        Assert.Contains("character device", ex.Message, StringComparison.Ordinal);
        Assert.Equal(NativeFile.S_IFCHR, StatType(dev));
    }

    [Fact]
    public void Dev_null_is_refused_without_being_touched()
    {
        var ex = Assert.Throws<Ferry.Transfers.TransferException>(() => DownloadDestination.CheckBeforeConnecting("/dev/null", overwrite: true));
        Assert.Equal(Ferry.Transfers.ExitCode.LocalIo, ex.Code);
        Assert.Contains("'/dev/null' is a character device", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Symlink_to_a_regular_file_is_written_through_and_the_link_stays()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("real"));
        string target = dir.Combine("real", "data.txt");
        File.WriteAllText(target, "old contents");
        string link = dir.Combine("link.txt");
        File.CreateSymbolicLink(link, target);

        Assert.Equal(FileErrorCode.AlreadyExists, Assert.Throws<FileEngineException>(() => PartialFile.ForDownload(link, 3, new FileIdentity(3, 1), overwrite: false)).Code);
        using (var pf = PartialFile.ForDownload(link, 3, new FileIdentity(3, 1), overwrite: true))
        {
            Assert.Equal(target, pf.FinalPath);
            Assert.Equal(dir.Combine("real"), Path.GetDirectoryName(pf.TempPath)); // temp beside the file it replaces
            pf.Write(0, "new"u8);
            pf.Commit(SHA256.HashData("new"u8));
        }

        Assert.Equal(NativeFile.S_IFLNK, StatType(link));
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal("new", File.ReadAllText(link));
    }

    [Fact]
    public void Symlink_to_a_fifo_or_to_nothing_is_refused()
    {
        using var dir = new TempDir();
        TestNative.MakeFifo(dir.Combine("pipe"));
        File.CreateSymbolicLink(dir.Combine("to-pipe"), dir.Combine("pipe"));
        File.CreateSymbolicLink(dir.Combine("dangling"), dir.Combine("nothing"));

        var toPipe = Assert.Throws<FileEngineException>(() => PartialFile.ForDownload(dir.Combine("to-pipe"), 3, new FileIdentity(3, 1), overwrite: true));
        Assert.Equal(FileErrorCode.NotRegularFile, toPipe.Code);
        Assert.Contains("fifo", toPipe.Message, StringComparison.Ordinal);
        var dangling = Assert.Throws<FileEngineException>(() => PartialFile.ForDownload(dir.Combine("dangling"), 3, new FileIdentity(3, 1), overwrite: true));
        Assert.Equal(FileErrorCode.NotRegularFile, dangling.Code);
        Assert.False(File.Exists(dir.Combine("nothing")));
    }

    [Fact]
    public void A_fifo_that_appears_under_the_final_name_before_commit_is_not_replaced()
    {
        using var dir = new TempDir();
        string dest = dir.Combine("late.bin");
        using var pf = PartialFile.ForDownload(dest, 3, new FileIdentity(3, 1), overwrite: true);
        pf.Write(0, "abc"u8);
        TestNative.MakeFifo(dest);
        var ex = Assert.Throws<FileEngineException>(() => pf.Commit(SHA256.HashData("abc"u8)));
        Assert.Equal(FileErrorCode.NotRegularFile, ex.Code);
        Assert.Equal(NativeFile.S_IFIFO, StatType(dest));
    }

    private static ushort StatType(string path)
    {
        Assert.True(NativeFile.TryStatPath(path, out var stat, out int errno), $"stat {path}: errno {errno}");
        return stat.Type;
    }
}
