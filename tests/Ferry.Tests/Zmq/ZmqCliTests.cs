using System.Security.Cryptography;
using Ferry.Tests.Support;

namespace Ferry.Tests.Zmq;

/// <summary>The real <c>ferry</c> executable against the zmq:// server: send, refusal, and get (not supported).</summary>
public sealed class ZmqCliTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(2);

    [ZmqFact]
    public async Task Ferry_send_uploads_then_is_refused_and_ferry_get_is_a_usage_error()
    {
        await using var server = new ZmqServerFixture(curve: true);
        string src = Path.Combine(server.Root, "..", "cli.bin");
        byte[] data = ZmqFrames.Bytes((3 << 20) + 7, 8);
        await File.WriteAllBytesAsync(src, data);
        string url = server.Url("cli/x.bin").ToString();

        using (var send = new FerryProcess("send", src, url, "--json", "--chunk-size", "262144", "--server-key", server.CurveKey!))
        {
            int code = await send.WaitExitAsync(s_limit);
            Assert.True(code == 0, $"exit code {code}: {send.StandardError}");
            var done = send.Events.Single(e => e.GetProperty("event").GetString() == "done");
            Assert.Equal(data.Length, done.GetProperty("bytes").GetInt64());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), done.GetProperty("sha256").GetString());
            Assert.Equal(13, done.GetProperty("chunks").GetInt64());
        }

        Assert.Equal(data, await File.ReadAllBytesAsync(server.PathOf("cli/x.bin")));

        // The key was pinned by the first run (in the test run's FERRY_CONFIG_DIR): no --server-key needed now.
        using (var again = new FerryProcess("send", src, url, "--json"))
        {
            Assert.Equal(3, await again.WaitExitAsync(s_limit));
            var error = again.Events.Single(e => e.GetProperty("event").GetString() == "error");
            Assert.Equal("refused", error.GetProperty("kind").GetString());
            Assert.Contains("already exists on the server", error.GetProperty("message").GetString());
        }

        using var get = new FerryProcess("get", url, Path.Combine(server.Root, "..", "copy.bin"), "--json");
        Assert.Equal(2, await get.WaitExitAsync(s_limit));
        Assert.Contains("zmq:// supports upload only", get.StandardError);
    }
}
