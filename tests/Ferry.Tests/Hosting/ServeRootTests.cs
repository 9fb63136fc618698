using Ferry.Tests.Files;

namespace Ferry.Tests.Hosting;

/// <summary><c>ferry serve</c> with a root it cannot use: one clear line and exit 6, never a stack trace.</summary>
public sealed class ServeRootTests
{
    [Fact]
    public async Task RootIsARegularFile_ExitsSixSayingSo()
    {
        using var dir = new TempDir();
        string file = dir.Combine("data");
        await File.WriteAllTextAsync(file, "x");

        var (code, stderr) = await ServeHarness.RunAsync(["serve", .. ServeHarness.Only(file, dir.Combine("state"), "tcp", 0)]);

        Assert.Equal(6, code);
        Assert.Contains($"--root {file} is a file, not a directory", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RootCannotBeCreated_ExitsSixSayingSo()
    {
        using var dir = new TempDir();
        string file = dir.Combine("plain");
        await File.WriteAllTextAsync(file, "x");
        string root = Path.Combine(file, "data");

        var (code, stderr) = await ServeHarness.RunAsync(["serve", .. ServeHarness.Only(root, dir.Combine("state"), "tcp", 0)]);

        Assert.Equal(6, code);
        Assert.Contains($"cannot create --root {root}: {file} is a file, not a directory", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StateDirIsARegularFile_ExitsSixSayingSo()
    {
        using var dir = new TempDir();
        string state = dir.Combine("state");
        await File.WriteAllTextAsync(state, "x");

        var (code, stderr) = await ServeHarness.RunAsync(["serve", .. ServeHarness.Only(dir.Combine("root"), state, "tcp", 0)]);

        Assert.Equal(6, code);
        Assert.Contains($"--state-dir {state} is a file, not a directory", stderr, StringComparison.Ordinal);
    }
}
