using Ferry.Tests.Support;

namespace Ferry.Tests.Security;

/// <summary>
/// <c>--server-key</c> as the real <c>ferry</c> reads it: a value starting with '@' is a value (ZeroMQ CURVE keys in
/// Z85 can start with '@'; response files once swallowed it, about one zmq CLI test run in five), and a value that
/// is not a key fingerprint is a usage error before anything is sent.
/// </summary>
public sealed class ServerKeyOptionTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_curve_key_starting_with_at_sign_reaches_the_zmq_client_as_a_value()
    {
        string src = Path.GetTempFileName();
        try
        {
            // 40 Z85 characters, the first one '@': a well-formed CURVE key; nothing listens on port 1.
            string key = "@" + new string('a', 39);
            using var send = new FerryProcess("send", src, "zmq://127.0.0.1:1/x", "--server-key", key, "--timeout", "1");
            int code = await send.WaitExitAsync(s_limit);
            Assert.DoesNotContain("Response file", send.StandardError);
            Assert.NotEqual(2, code); // accepted as a key: the run fails later, for want of a server
        }
        finally
        {
            File.Delete(src);
        }
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task A_server_key_that_is_no_fingerprint_is_a_usage_error_before_connecting(string scheme)
    {
        string src = Path.GetTempFileName();
        try
        {
            using var send = new FerryProcess("send", src, $"{scheme}://127.0.0.1:1/x", "--server-key", "@abc");
            Assert.Equal(2, await send.WaitExitAsync(s_limit));
            Assert.Contains("is not a server key fingerprint", send.StandardError);
        }
        finally
        {
            File.Delete(src);
        }
    }

    [Fact]
    public async Task A_fingerprint_with_or_without_its_prefix_is_accepted()
    {
        string src = Path.GetTempFileName();
        try
        {
            string fingerprint = "SHA256:" + Convert.ToBase64String(new byte[32]).TrimEnd('=');
            foreach (string key in new[] { fingerprint, fingerprint["SHA256:".Length..] })
            {
                using var send = new FerryProcess("send", src, "udp://127.0.0.1:1/x", "--server-key", key, "--timeout", "1");
                int code = await send.WaitExitAsync(s_limit);
                Assert.True(code != 2, $"exit {code}: {send.StandardError}");
            }
        }
        finally
        {
            File.Delete(src);
        }
    }
}
