using Ferry.Tests.Files;

namespace Ferry.Tests.Hosting;

/// <summary>TFTP cannot check tokens: a server that requires them does not serve TFTP unless told to on purpose.</summary>
public sealed class TftpTokenTests
{
    [Fact]
    public async Task RequireToken_WithTftp_RefusesToStart()
    {
        using var dir = new TempDir();
        var (code, stderr) = await ServeHarness.RunAsync(
            ["serve", .. ServeHarness.Only(dir.Combine("root"), dir.Combine("state"), "tftp", 0), "--require-token", "--tftp-allow-write"]);

        Assert.Equal(2, code);
        Assert.Contains("TFTP has no authentication, so it cannot honour --require-token", stderr, StringComparison.Ordinal);
        Assert.Contains("--tftp-anonymous", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExistingToken_WithTftp_RefusesToStart()
    {
        using var dir = new TempDir();
        string state = dir.Combine("state");
        new Ferry.Security.TokenStore(state).Create("ci", read: true, write: false, null, DateTimeOffset.UtcNow, null);

        var (code, stderr) = await ServeHarness.RunAsync(["serve", .. ServeHarness.Only(dir.Combine("root"), state, "tftp", 0)]);

        Assert.Equal(2, code);
        Assert.Contains("cannot honour the access tokens in", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequireToken_WithTftpAnonymous_StartsAndWarns()
    {
        using var dir = new TempDir();
        var (server, _) = await ServeHarness.StartServeAsync(
            "tftp", [.. ServeHarness.Only(dir.Combine("root"), dir.Combine("state"), "tftp", 0), "--require-token", "--tftp-anonymous"]);
        using (server)
        {
            Assert.Contains("WARNING: --tftp-anonymous: TFTP has no authentication", server.StandardError, StringComparison.Ordinal);
        }
    }
}
