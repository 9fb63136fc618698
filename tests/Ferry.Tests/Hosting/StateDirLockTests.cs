using Ferry.Hosting;
using Ferry.Tests.Files;

namespace Ferry.Tests.Hosting;

/// <summary>One state directory, one server: a second server on it refuses to start until the first is gone.</summary>
public sealed class StateDirLockTests
{
    [Fact]
    public async Task SecondServer_OnSameStateDir_Refused_ThenStartsOnceTheFirstStopped()
    {
        using var dir = new TempDir();
        var first = ServeHarness.Options(dir.Path, "tcp", 0);
        var second = new ServerOptions { Root = dir.Combine("other-root"), StateDir = first.StateDir, Bind = first.Bind, UdpPort = 0, TcpPort = null, ZmqPort = null, RelayPort = null };

        var running = await ServeHarness.StartAsync(first);
        try
        {
            var ex = await Assert.ThrowsAsync<StateDirInUseException>(() => ServeHarness.StartAsync(second));
            Assert.Contains($"state directory {first.StateDir} is in use by another ferry serve", ex.Message, StringComparison.Ordinal);
            Assert.Contains($"pid {Environment.ProcessId}, root {first.Root}", ex.Message, StringComparison.Ordinal);
            Assert.Contains("--state-dir", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            await running.DisposeAsync();
        }

        await using var again = await ServeHarness.StartAsync(second);
        Assert.Single(again.Listeners);
    }

    [Fact]
    public async Task SecondServeProcess_OnSameStateDir_ExitsOneNamingTheFirst()
    {
        using var dir = new TempDir();
        string state = dir.Combine("state");
        var (first, _) = await ServeHarness.StartServeAsync("tcp", ServeHarness.Only(dir.Combine("a"), state, "tcp", 0));
        using (first)
        {
            var (code, stderr) = await ServeHarness.RunAsync(["serve", .. ServeHarness.Only(dir.Combine("b"), state, "tcp", 0)]);

            Assert.Equal(1, code);
            Assert.Contains($"state directory {state} is in use by another ferry serve (pid {first.Pid}, root {dir.Combine("a")})", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("listening", stderr, StringComparison.Ordinal);
        }
    }
}
