using System.Security.Cryptography;
using System.Text.Json;
using Ferry.Tests.Hosting;
using Ferry.Tests.Support;

namespace Ferry.Tests.Cli;

/// <summary>
/// Rate limits end to end with the real executables on 127.0.0.1: a limited transfer arrives byte for byte, its
/// <c>done</c> event reports the limit in force (the server's cap when the client asked for more, the client's own
/// when it asked for less), and a rate that is not one is a usage error. Nothing here asserts on time.
/// </summary>
public sealed class RateLimitProcessTests : IDisposable
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(2);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ferry-rate-" + Guid.NewGuid().ToString("N"));

    public RateLimitProcessTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static long RateLimitOf(FerryProcess p)
    {
        var done = p.Events.Single(e => e.GetProperty("event").GetString() == "done");
        return done.TryGetProperty("rate_limit", out JsonElement rate) ? rate.GetInt64() : 0;
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task A_limited_upload_and_download_arrive_intact_and_report_the_limit_in_force(string scheme)
    {
        string root = Path.Combine(_dir, "root");
        string state = Path.Combine(_dir, "state");
        var (server, port) = await ServeHarness.StartServeAsync(scheme, [.. ServeHarness.Only(root, state, scheme, 0), "--max-rate", "20M"]);
        using (server)
        {
            string src = Path.Combine(_dir, "src.bin");
            var data = RandomNumberGenerator.GetBytes(3 << 20);
            await File.WriteAllBytesAsync(src, data);
            string url = $"{scheme}://127.0.0.1:{port}/up.bin";
            var home = ("HOME", _dir);

            // Asking for more than the server's cap: the cap is in force, and said.
            using (var send = new FerryProcess(["send", src, url, "--json", "--limit-rate", "40M"], home))
            {
                Assert.Equal(0, await send.WaitExitAsync(s_limit));
                Assert.Equal(20_000_000, RateLimitOf(send));
            }

            Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(root, "up.bin")));

            // Asking for less: the client's own limit is in force.
            string back = Path.Combine(_dir, "back.bin");
            using (var get = new FerryProcess(["get", url, back, "--json", "--limit-rate", "8M"], home))
            {
                Assert.Equal(0, await get.WaitExitAsync(s_limit));
                Assert.Equal(8_000_000, RateLimitOf(get));
            }

            Assert.Equal(data, await File.ReadAllBytesAsync(back));

            // Asking for nothing: told the server's cap all the same.
            string again = Path.Combine(_dir, "again.bin");
            using (var get = new FerryProcess(["get", url, again, "--json"], home))
            {
                Assert.Equal(0, await get.WaitExitAsync(s_limit));
                Assert.Equal(20_000_000, RateLimitOf(get));
            }

            Assert.Equal(data, await File.ReadAllBytesAsync(again));
        }
    }

    [Fact]
    public async Task A_rate_that_is_not_one_is_a_usage_error_that_says_how_to_write_one()
    {
        using var send = new FerryProcess("send", "/nonexistent-file", "udp://127.0.0.1:9/x", "--limit-rate", "40X");
        Assert.Equal(2, await send.WaitExitAsync(s_limit));
        Assert.Contains("--limit-rate '40X' is not a rate like 500K, 40M or 1.5G", send.StandardError, StringComparison.Ordinal);

        var (code, stderr) = await ServeHarness.RunAsync("serve", "--root", Path.Combine(_dir, "r"), "--max-total-rate", "fast");
        Assert.Equal(2, code);
        Assert.Contains("--max-total-rate 'fast' is not a rate", stderr, StringComparison.Ordinal);
    }
}
