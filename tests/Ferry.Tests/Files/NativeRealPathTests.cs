using Ferry.Files;

namespace Ferry.Tests.Files;

/// <summary>
/// <see cref="NativeFile.RealPath"/> (one open(O_PATH) and a readlink of its /proc/self/fd entry) answers as realpath(3)
/// does, path for path and errno for errno: the root jail rests on it.
/// </summary>
public class NativeRealPathTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Paths => new()
    {
        "",
        "dir",
        "dir/file",
        "dir/../dir/./file",
        "link-to-dir/file",
        "link-to-dir/../dir",
        "link-to-file",
        "link-to-missing",
        "missing/file",
        "dir/file/below-a-file",
        "loop/x",
        "dir/name with spaces %#?",
        "dir/Ünïcødé",
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void AgreesWithLibcRealpath(string relative)
    {
        string root = NativeFile.LibcRealPath(_dir.Path, out _)!;
        Directory.CreateDirectory(Path.Combine(root, "dir"));
        File.WriteAllText(Path.Combine(root, "dir", "file"), "x");
        File.WriteAllText(Path.Combine(root, "dir", "name with spaces %#?"), "x");
        File.WriteAllText(Path.Combine(root, "dir", "Ünïcødé"), "x");
        File.CreateSymbolicLink(Path.Combine(root, "link-to-dir"), Path.Combine(root, "dir"));
        File.CreateSymbolicLink(Path.Combine(root, "link-to-file"), "dir/file");
        File.CreateSymbolicLink(Path.Combine(root, "link-to-missing"), "nowhere");
        File.CreateSymbolicLink(Path.Combine(root, "loop"), "loop");
        string path = relative.Length == 0 ? root : root + "/" + relative;

        string? expected = NativeFile.LibcRealPath(path, out int expectedErrno);
        string? actual = NativeFile.RealPath(path, out int actualErrno);

        Assert.Equal(expected, actual);
        Assert.Equal(expectedErrno, actualErrno);
    }

    [Fact]
    public void PathOfHandleNamesTheOpenFileAndNothingOnceItIsDeleted()
    {
        string root = NativeFile.LibcRealPath(_dir.Path, out _)!;
        string file = Path.Combine(root, "f");
        File.WriteAllText(file, "x");
        using var handle = File.OpenHandle(file);

        Assert.Equal(file, NativeFile.PathOfHandle(handle));

        File.Delete(file);
        Assert.Null(NativeFile.PathOfHandle(handle));
    }
}
