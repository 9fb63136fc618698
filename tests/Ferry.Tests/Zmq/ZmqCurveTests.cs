using System.Security.Cryptography;
using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Ferry.Zmq;
using Ferry.Zmq.Client;
using Ferry.Zmq.Native;

namespace Ferry.Tests.Zmq;

/// <summary>zmq:// over CURVE: the server key, what a client needs to connect, and every way the handshake can fail.</summary>
public sealed class ZmqCurveTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(1);

    [ZmqCurveFact]
    public void Curve_key_is_derived_from_the_server_key_and_survives_a_reload_of_its_pem()
    {
        var a = ZmqServerCurveKey.Derive(TestSecurity.ServerKey);
        Assert.Equal(ZmqCurve.KeyZ85Length, a.PublicZ85.Length);
        Assert.True(ZmqCurve.TryDecodeKey(a.PublicZ85, out _));

        // What a restart does: the same key read back from its PEM file gives the same CURVE key.
        using var reloaded = ECDsa.Create();
        reloaded.ImportFromPem(TestSecurity.ServerKey.Key.ExportPkcs8PrivateKeyPem());
        using var again = new ServerKeyPair(reloaded);
        Assert.Equal(a.PublicZ85, ZmqServerCurveKey.Derive(again).PublicZ85);
        Assert.True(a.Secret.SequenceEqual(ZmqServerCurveKey.DeriveSecret(again)));

        using var other = ServerKeyPair.Generate();
        Assert.NotEqual(a.PublicZ85, ZmqServerCurveKey.Derive(other).PublicZ85);
    }

    [ZmqFact]
    public void Z85_matches_the_spec_and_rejects_what_is_not_a_key()
    {
        // The example of ZeroMQ RFC 32.
        Assert.Equal("HelloWorld", ZmqCurve.Z85Encode(new byte[] { 0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B }));
        byte[] key = RandomNumberGenerator.GetBytes(32);
        string text = ZmqCurve.Z85Encode(key);
        Assert.True(ZmqCurve.TryDecodeKey(text, out byte[] back));
        Assert.Equal(key, back);
        Assert.False(ZmqCurve.TryDecodeKey(text[..39], out _));
        Assert.False(ZmqCurve.TryDecodeKey(text + "0", out _));
        Assert.False(ZmqCurve.TryDecodeKey("\"" + text[1..], out _));
        Assert.False(ZmqCurve.TryDecodeKey(" " + text[1..], out _));
        Assert.False(ZmqCurve.TryDecodeKey(new string('#', 40), out _));
    }

    [ZmqCurveFact]
    public async Task Curve_upload_of_24_MiB_arrives_intact_and_pins_the_key()
    {
        await using var server = new ZmqServerFixture(curve: true);
        Assert.NotNull(server.CurveKey);
        string src = Path.Combine(server.Root, "..", "curve.bin");
        byte[] data = ZmqFrames.Bytes((24 << 20) + 333, 24);
        await File.WriteAllBytesAsync(src, data);
        var options = server.ClientOptions(chunkSize: 1 << 20);
        var notices = new List<string>();
        options.Notice = notices.Add;

        var result = await Send(src, server.Url("c/curve.bin"), options);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), result.Sha256Hex);
        Assert.Equal(data, await File.ReadAllBytesAsync(server.PathOf("c/curve.bin")));
        var host = new Uri(server.Endpoint.Replace("tcp://", "zmq://", StringComparison.Ordinal));
        string name = ZmqClientSecurity.KnownHostsName(host.Host, host.Port);
        Assert.Equal(server.CurveKey, server.KnownHosts.Lookup(name));
        Assert.Contains(notices, n => n.Contains("pinned", StringComparison.Ordinal));

        // Pinned now: the next upload needs no --server-key.
        var second = new ClientOptions { KnownHosts = server.KnownHosts };
        await Send(src, server.Url("c/second.bin"), second);
        Assert.Equal(data, await File.ReadAllBytesAsync(server.PathOf("c/second.bin")));
    }

    [ZmqCurveFact]
    public async Task Wrong_server_key_fails_at_the_handshake_with_key_mismatch_not_a_timeout()
    {
        await using var server = new ZmqServerFixture(curve: true);
        string src = await SmallFile(server);
        var options = server.ClientOptions();
        options.ServerKey = ZmqCurve.NewKeyPair().PublicZ85;
        options.Timeout = TimeSpan.FromSeconds(60);

        var e = await Assert.ThrowsAsync<TransferException>(() => Send(src, server.Url("wrong"), options));
        Assert.Equal(ExitCode.ServerKeyMismatch, e.Code);
        Assert.Contains($"does not hold the key '{options.ServerKey}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("--server-key", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(server.PathOf("wrong")));

        // A wrong key in known_hosts (the server's key changed) says which line to remove.
        var host = new Uri(server.Url("x").ToString());
        server.KnownHosts.Add(ZmqClientSecurity.KnownHostsName(host.Host, host.Port), ZmqCurve.NewKeyPair().PublicZ85);
        var pinned = await Assert.ThrowsAsync<TransferException>(() => Send(src, server.Url("wrong"), new ClientOptions { KnownHosts = server.KnownHosts }));
        Assert.Equal(ExitCode.ServerKeyMismatch, pinned.Code);
        Assert.Contains("remove the line for zmq:127.0.0.1:", pinned.Message, StringComparison.Ordinal);
    }

    [ZmqCurveFact]
    public async Task Plain_client_at_a_curve_server_is_refused_at_once_naming_the_fix()
    {
        await using var server = new ZmqServerFixture(curve: true);
        string src = await SmallFile(server);
        var options = new ClientOptions { Insecure = true, Timeout = TimeSpan.FromSeconds(60) };

        var e = await Assert.ThrowsAsync<TransferException>(() => Send(src, server.Url("plain"), options));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("requires CURVE encryption", e.Message, StringComparison.Ordinal);
        Assert.Contains("drop --insecure", e.Message, StringComparison.Ordinal);
        Assert.Contains("--server-key", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.Listener.RequestsReceived);
    }

    [ZmqCurveFact]
    public async Task Curve_client_at_a_plain_server_is_refused_at_once_naming_insecure()
    {
        await using var server = new ZmqServerFixture(curve: false);
        Assert.Null(server.CurveKey);
        Assert.Contains("zmq:// is NOT encrypted: the server has no key", server.Log, StringComparison.Ordinal);
        string src = await SmallFile(server);
        var options = new ClientOptions { ServerKey = ZmqCurve.NewKeyPair().PublicZ85, KnownHosts = server.KnownHosts, Timeout = TimeSpan.FromSeconds(60) };

        var e = await Assert.ThrowsAsync<TransferException>(() => Send(src, server.Url("p"), options));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("does not use CURVE encryption", e.Message, StringComparison.Ordinal);
        Assert.Contains("pass --insecure", e.Message, StringComparison.Ordinal);
    }

    [ZmqCurveFact]
    public async Task Raw_curve_dealer_speaks_the_basic_protocol_and_a_plain_one_gets_nothing()
    {
        await using var server = new ZmqServerFixture(curve: true);
        using (var dealer = new TestDealer(server.Endpoint, curveServerKey: server.CurveKey))
        {
            dealer.Upload("raw/curve.bin", ZmqFrames.Bytes(300_000, 3), chunk: 50_000, window: 4);
        }

        Assert.Equal(ZmqFrames.Bytes(300_000, 3), await File.ReadAllBytesAsync(server.PathOf("raw/curve.bin")));

        using var plain = new TestDealer(server.Endpoint);
        plain.Socket.ReceiveTimeout = 500;
        plain.Send(ZmqFrames.Hello("raw/plain.bin"));
        Assert.False(plain.Socket.TryReceiveMessage(new List<byte[]>(), out _), "a plain peer must not get through a CURVE server");
    }

    [ZmqFact]
    public async Task Missing_or_malformed_keys_are_usage_errors_before_connecting()
    {
        string src = Path.GetTempFileName();
        var hosts = new KnownHosts(Path.Combine(TestSecurity.ConfigDir, "zmq-usage-" + Guid.NewGuid().ToString("N")));
        try
        {
            // Port 9 (discard) on loopback: nothing is ever sent there, the checks come first.
            var url = new Uri("zmq://127.0.0.1:9/f");
            if (!ZmqCurve.IsAvailable)
            {
                var none = await Assert.ThrowsAsync<TransferException>(() => Send(src, url, new ClientOptions { KnownHosts = hosts }));
                Assert.Equal(ExitCode.Usage, none.Code);
                Assert.Contains("--insecure", none.Message, StringComparison.Ordinal);
                return;
            }

            var unknown = await Assert.ThrowsAsync<TransferException>(() => Send(src, url, new ClientOptions { KnownHosts = hosts }));
            Assert.Equal(ExitCode.Usage, unknown.Code);
            Assert.Contains("pass --server-key KEY", unknown.Message, StringComparison.Ordinal);
            Assert.Contains("--insecure", unknown.Message, StringComparison.Ordinal);

            var fingerprint = await Assert.ThrowsAsync<TransferException>(() =>
                Send(src, url, new ClientOptions { KnownHosts = hosts, ServerKey = TestSecurity.ServerKey.Fingerprint }));
            Assert.Equal(ExitCode.Usage, fingerprint.Code);
            Assert.Contains("not its SHA256 fingerprint", fingerprint.Message, StringComparison.Ordinal);

            var junk = await Assert.ThrowsAsync<TransferException>(() => Send(src, url, new ClientOptions { KnownHosts = hosts, ServerKey = "short" }));
            Assert.Equal(ExitCode.Usage, junk.Code);
            Assert.False(File.Exists(hosts.Path));
        }
        finally
        {
            File.Delete(src);
        }
    }

    [ZmqCurveFact]
    public async Task Insecure_server_runs_plain_and_says_why()
    {
        var dir = Directory.CreateTempSubdirectory("ferry-zmq-insecure-").FullName;
        try
        {
            var log = new StringWriter();
            var options = new Ferry.Hosting.ServerOptions
            {
                Root = Path.Combine(dir, "root"),
                StateDir = Path.Combine(dir, "state"),
                Bind = System.Net.IPAddress.Loopback,
                Identity = TestSecurity.ServerKey,
                AllowInsecure = true,
            };
            Directory.CreateDirectory(options.Root);
            await using var listener = new ZmqListener(new Ferry.Hosting.ServerContext(options, log), 0);
            Assert.Null(listener.CurvePublicKey);
            Assert.Contains("--insecure", listener.PlainReason, StringComparison.Ordinal);
            Assert.Contains("WARNING: zmq:// is NOT encrypted", log.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static Task<TransferResult> Send(string src, Uri url, ClientOptions options) =>
        new ZmqTransferClient().SendAsync(src, url, options, new Progress<TransferProgress>(), CancellationToken.None).WaitAsync(s_limit);

    internal static async Task<string> SmallFile(ZmqServerFixture server)
    {
        string src = Path.Combine(server.Root, "..", "small-" + Guid.NewGuid().ToString("N")[..8]);
        await File.WriteAllBytesAsync(src, ZmqFrames.Bytes(100_000, 9));
        return src;
    }
}
