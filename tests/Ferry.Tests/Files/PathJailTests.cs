using Ferry.Files;

namespace Ferry.Tests.Files;

/// <summary>Every kind of path the root jail must refuse, each on its own, plus the allowed cases next to them.</summary>
public class PathJailTests : IDisposable
{
    private readonly EngineFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private FileEngine Engine => _fx.Engine;

    private FileEngineException Refused(string path, FileErrorCode code, bool echoesServerPath = false)
    {
        var read = Assert.Throws<FileEngineException>(() => Engine.OpenRead(path).Dispose());
        Assert.Equal(code, read.Code);
        // Messages go to clients: they must not reveal where the server keeps its files.
        if (!echoesServerPath)
        {
            Assert.DoesNotContain(_fx.Root, read.Message, StringComparison.Ordinal);
        }

        return read;
    }

    private void RefusedForUpload(string path, FileErrorCode code)
    {
        var ex = Assert.Throws<FileEngineException>(() => Engine.BeginUpload(path, 10, null, "test").Dispose());
        Assert.Equal(code, ex.Code);
        Assert.Equal(0, Engine.Registry.Count);
    }

    [Fact]
    public void Absolute_IsRefused()
    {
        File.WriteAllText(_fx.InRoot("a.txt"), "x");
        // The message quotes what the client sent, which here happens to be a server path.
        var ex = Refused(_fx.InRoot("a.txt"), FileErrorCode.InvalidPath, echoesServerPath: true);
        Assert.Contains("absolute", ex.Message, StringComparison.Ordinal);
        Refused("/etc/passwd", FileErrorCode.InvalidPath);
        RefusedForUpload("/tmp/x", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void DotDot_IsRefused()
    {
        File.WriteAllText(Path.Combine(_fx.Outside, "secret"), "s");
        Refused("../secret", FileErrorCode.InvalidPath);
        Refused("a/../../secret", FileErrorCode.InvalidPath);
        Refused("..", FileErrorCode.InvalidPath);
        RefusedForUpload("../evil", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void DotSegment_IsRefused()
    {
        File.WriteAllText(_fx.InRoot("a.txt"), "x");
        Refused("./a.txt", FileErrorCode.InvalidPath);
        Refused(".", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void EmptySegments_AreRefused()
    {
        Directory.CreateDirectory(_fx.InRoot("d"));
        File.WriteAllText(_fx.InRoot("d/a.txt"), "x");
        Refused("", FileErrorCode.InvalidPath);
        Refused("d//a.txt", FileErrorCode.InvalidPath);
        Refused("d/", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void Backslash_IsRefused()
    {
        var ex = Refused("d\\..\\..\\secret", FileErrorCode.InvalidPath);
        Assert.Contains("backslash", ex.Message, StringComparison.Ordinal);
        RefusedForUpload("a\\b", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void Nul_IsRefused()
    {
        File.WriteAllText(_fx.InRoot("a.txt"), "x");
        var ex = Refused("a.txt\0.jpg", FileErrorCode.InvalidPath);
        Assert.Contains("NUL", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\0", ex.Message, StringComparison.Ordinal);
        RefusedForUpload("x\0y", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void ControlCharacter_IsRefused()
    {
        var ex = Refused("a\nb", FileErrorCode.InvalidPath);
        Assert.Contains("control", ex.Message, StringComparison.Ordinal);
        Refused("a\u001b[31mb", FileErrorCode.InvalidPath);
        Refused("a\u007f", FileErrorCode.InvalidPath);
        RefusedForUpload("tab\there", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void InvalidUnicode_IsRefused()
    {
        Refused("lone\ud800surrogate", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void OverlongSegment_IsRefused()
    {
        Refused(new string('a', 256), FileErrorCode.InvalidPath);
        // 128 two-byte characters = 256 UTF-8 bytes: the limit is in bytes, not characters.
        Refused(new string('é', 128), FileErrorCode.InvalidPath);
        RefusedForUpload(new string('b', 300), FileErrorCode.InvalidPath);
    }

    [Fact]
    public void OverlongPath_IsRefused()
    {
        string path = string.Join('/', Enumerable.Repeat(new string('d', 200), 21));
        Assert.True(path.Length > FileEngine.MaxPathBytes);
        var ex = Refused(path, FileErrorCode.InvalidPath);
        Assert.True(ex.Message.Length < 300, "message must not echo the whole overlong path");
    }

    [Fact]
    public void MaxLengthSegment_IsAccepted()
    {
        string name = new string('n', 255);
        File.WriteAllText(_fx.InRoot(name), "ok");
        using var f = Engine.OpenRead(name);
        Assert.Equal(2, f.Length);
    }

    [Fact]
    public void SymlinkFileOutOfRoot_IsRefused()
    {
        string secret = Path.Combine(_fx.Outside, "secret.txt");
        File.WriteAllText(secret, "secret");
        File.CreateSymbolicLink(_fx.InRoot("link.txt"), secret);
        var ex = Refused("link.txt", FileErrorCode.InvalidPath);
        Assert.Contains("outside", ex.Message, StringComparison.Ordinal);
        RefusedForUpload("link.txt", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void RelativeSymlinkOutOfRoot_IsRefused()
    {
        File.WriteAllText(Path.Combine(_fx.Outside, "secret.txt"), "secret");
        File.CreateSymbolicLink(_fx.InRoot("rel.txt"), "../secret.txt");
        Refused("rel.txt", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void SymlinkDirOutOfRoot_IsRefused()
    {
        string outsideDir = Path.Combine(_fx.Outside, "elsewhere");
        Directory.CreateDirectory(outsideDir);
        File.WriteAllText(Path.Combine(outsideDir, "f.txt"), "secret");
        Directory.CreateSymbolicLink(_fx.InRoot("dirlink"), outsideDir);
        Refused("dirlink/f.txt", FileErrorCode.InvalidPath);

        // Uploading through it must not create anything outside the root, not even a temp file.
        RefusedForUpload("dirlink/new.bin", FileErrorCode.InvalidPath);
        RefusedForUpload("dirlink/sub/new.bin", FileErrorCode.InvalidPath);
        Assert.Equal(["f.txt"], Directory.GetFileSystemEntries(outsideDir).Select(Path.GetFileName));
    }

    [Fact]
    public void SymlinkToDevNull_IsRefused()
    {
        File.CreateSymbolicLink(_fx.InRoot("null"), "/dev/null");
        Refused("null", FileErrorCode.InvalidPath);
    }

    [RootFact]
    public void DeviceFileInsideRoot_IsNotRegular()
    {
        TestNative.MakeNullDevice(_fx.InRoot("nulldev"));
        var ex = Refused("nulldev", FileErrorCode.NotRegularFile);
        Assert.Contains("not a regular file", ex.Message, StringComparison.Ordinal);
        RefusedForUpload("nulldev", FileErrorCode.NotRegularFile);
    }

    [Fact]
    public void Fifo_IsNotRegular_AndDoesNotBlock()
    {
        TestNative.MakeFifo(_fx.InRoot("pipe"));
        // A blocking open of a fifo without a writer would hang here forever; the engine opens non-blocking.
        var task = Task.Run(() => Refused("pipe", FileErrorCode.NotRegularFile));
        Assert.True(task.Wait(TimeSpan.FromSeconds(20)), "OpenRead on a fifo blocked");
        RefusedForUpload("pipe", FileErrorCode.NotRegularFile);
    }

    [Fact]
    public void Directory_IsNotRegular()
    {
        Directory.CreateDirectory(_fx.InRoot("d"));
        var ex = Refused("d", FileErrorCode.NotRegularFile);
        Assert.Contains("directory", ex.Message, StringComparison.Ordinal);
        RefusedForUpload("d", FileErrorCode.NotRegularFile);
    }

    [Fact]
    public void SymlinkToRoot_IsNotRegular()
    {
        Directory.CreateSymbolicLink(_fx.InRoot("self"), _fx.Root);
        Refused("self", FileErrorCode.NotRegularFile);
    }

    [Fact]
    public void ReservedPartName_IsRefused()
    {
        File.WriteAllText(_fx.InRoot(".a.bin.ferry-part"), "partial");
        var ex = Refused(".a.bin.ferry-part", FileErrorCode.InvalidPath);
        Assert.Contains("reserved", ex.Message, StringComparison.Ordinal);
        RefusedForUpload("x.ferry-part", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void ReservedJournalName_IsRefused()
    {
        File.WriteAllText(_fx.InRoot("a.ferry-journal"), "journal");
        Refused("a.ferry-journal", FileErrorCode.InvalidPath);
        RefusedForUpload("d/x.ferry-journal", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void ReservedJournalTempName_IsRefused()
    {
        File.WriteAllText(_fx.InRoot("a.ferry-journal.tmp"), "journal being replaced");
        Refused("a.ferry-journal.tmp", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void TempFileSymlinkedOutOfRoot_IsNotFollowed()
    {
        // A local user plants the temp name as a link to a file outside: it must be neither truncated nor written.
        string victim = Path.Combine(_fx.Outside, "victim.txt");
        File.WriteAllText(victim, "precious");
        File.CreateSymbolicLink(_fx.InRoot(".up.bin.ferry-part"), victim);
        RefusedForUpload("up.bin", FileErrorCode.InvalidPath);
        Assert.Equal("precious", File.ReadAllText(victim));
    }

    [Fact]
    public void DanglingSymlink_IsRefused()
    {
        File.CreateSymbolicLink(_fx.InRoot("dangling"), Path.Combine(_fx.Outside, "does-not-exist"));
        Refused("dangling", FileErrorCode.InvalidPath);
        RefusedForUpload("dangling", FileErrorCode.InvalidPath);
        Assert.False(File.Exists(Path.Combine(_fx.Outside, "does-not-exist")));
    }

    [Fact]
    public void DanglingDirectorySymlink_IsRefused()
    {
        string target = Path.Combine(_fx.Outside, "not-yet");
        Directory.CreateSymbolicLink(_fx.InRoot("dlink"), target);
        Refused("dlink/new.bin", FileErrorCode.InvalidPath);
        RefusedForUpload("dlink/new.bin", FileErrorCode.InvalidPath);
        RefusedForUpload("dlink/sub/new.bin", FileErrorCode.InvalidPath);
        Assert.False(Directory.Exists(target));
    }

    [Fact]
    public void SymlinkLoop_IsRefused()
    {
        File.CreateSymbolicLink(_fx.InRoot("loop1"), _fx.InRoot("loop2"));
        File.CreateSymbolicLink(_fx.InRoot("loop2"), _fx.InRoot("loop1"));
        Refused("loop1", FileErrorCode.InvalidPath);
    }

    [Fact]
    public void Missing_IsNotFound()
    {
        var ex = Refused("nope/none.bin", FileErrorCode.NotFound);
        Assert.Contains("nope/none.bin", ex.Message, StringComparison.Ordinal);
        Refused("none.bin", FileErrorCode.NotFound);
    }

    [Fact]
    public void FileUsedAsDirectory_IsNotFound()
    {
        File.WriteAllText(_fx.InRoot("plain"), "x");
        Refused("plain/child", FileErrorCode.NotFound);
        RefusedForUpload("plain/child", FileErrorCode.NotFound);
    }

    [Fact]
    public void SymlinksInsideRoot_AreAllowed()
    {
        Directory.CreateDirectory(_fx.InRoot("real"));
        File.WriteAllText(_fx.InRoot("real/f.txt"), "hello");
        File.CreateSymbolicLink(_fx.InRoot("flink"), _fx.InRoot("real/f.txt"));
        Directory.CreateSymbolicLink(_fx.InRoot("dlink"), "real");
        using (var f = Engine.OpenRead("flink"))
        {
            Assert.Equal(5, f.Length);
        }

        using (var f = Engine.OpenRead("dlink/f.txt"))
        {
            var buf = new byte[16];
            Assert.Equal(5, f.ReadAt(0, buf));
            Assert.Equal("hello"u8.ToArray(), buf[..5]);
        }

        // Both names resolve to one canonical path, so the upload registry sees them as the same file.
        Assert.Equal(Engine.ResolvePath("real/f.txt"), Engine.ResolvePath("dlink/f.txt"));
    }

    [Fact]
    public void UnicodeNames_AreAllowed()
    {
        File.WriteAllText(_fx.InRoot("данные ✓.txt"), "u");
        using var f = Engine.OpenRead("данные ✓.txt");
        Assert.Equal(1, f.Length);
    }

    [Fact]
    public void OpenedOutsideRoot_IsCaughtByPostOpenCheck()
    {
        // Simulates a component swapped for an escaping symlink between validation and open.
        string outside = Path.Combine(_fx.Outside, "o.txt");
        File.WriteAllText(outside, "o");
        using var handle = File.OpenHandle(outside);
        var ex = Assert.Throws<FileEngineException>(() => Engine.CheckOpenedInsideRoot(handle, "x"));
        Assert.Equal(FileErrorCode.InvalidPath, ex.Code);

        File.WriteAllText(_fx.InRoot("in.txt"), "i");
        using var inside = File.OpenHandle(_fx.InRoot("in.txt"));
        Engine.CheckOpenedInsideRoot(inside, "in.txt");
    }

    [Fact]
    public void RootBehindSymlink_Works()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("realroot"));
        Directory.CreateSymbolicLink(dir.Combine("rootlink"), dir.Combine("realroot"));
        File.WriteAllText(dir.Combine("realroot", "f"), "abc");
        var engine = new FileEngine(new FileEngineOptions { Root = dir.Combine("rootlink"), StateDir = dir.Combine("state") });
        using var f = engine.OpenRead("f");
        Assert.Equal(3, f.Length);
    }
}
