using Ferry.Tests.Files;

namespace Ferry.Tests.Hosting;

/// <summary><c>ferry token create</c> only writes where a server keeps its state, and says which server that is.</summary>
public sealed class TokenLocationTests
{
    [Fact]
    public async Task Create_MissingStateDir_RefusedAndNothingCreated()
    {
        using var dir = new TempDir();
        string state = dir.Combine("typo-state");

        var (code, stderr) = await ServeHarness.RunAsync("token", "create", "--state-dir", state, "--name", "ci", "--read");

        Assert.Equal(6, code);
        Assert.Contains($"no server state directory at --state-dir {state}", stderr, StringComparison.Ordinal);
        Assert.Contains("--init", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(state));
    }

    [Fact]
    public async Task Create_MissingRoot_RefusedNamingTheRoot()
    {
        using var dir = new TempDir();
        string root = dir.Combine("no-such-root");

        var (code, stderr) = await ServeHarness.RunAsync("token", "create", "--root", root, "--name", "ci", "--read");

        Assert.Equal(6, code);
        Assert.Contains($"no server has run with --root {root} (it does not exist)", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public async Task Create_WithInit_CreatesAndNamesTheServer()
    {
        using var dir = new TempDir();
        string state = dir.Combine("new-state");

        var (code, stderr) = await ServeHarness.RunAsync("token", "create", "--state-dir", state, "--name", "ci", "--read", "--init");

        Assert.Equal(0, code);
        Assert.True(File.Exists(Path.Combine(state, "tokens.json")));
        Assert.Contains($"it belongs to the server with --state-dir {state}", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_ExistingStateDir_NeedsNoFlag()
    {
        using var dir = new TempDir();
        string state = dir.Combine("state");
        Directory.CreateDirectory(state);

        var (code, stderr) = await ServeHarness.RunAsync("token", "create", "--state-dir", state, "--name", "ci", "--write");

        Assert.Equal(0, code);
        Assert.Contains($"stored in {Path.Combine(state, "tokens.json")}", stderr, StringComparison.Ordinal);
    }
}
