using System.Text;
using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Tests.Support;
using Ferry.Transfers;

namespace Ferry.Tests.Tcp.Security;

/// <summary>tcp:// encryption and server authentication, end to end on 127.0.0.1.</summary>
public sealed class TcpSecurityTests
{
    private static readonly byte[] s_marker = Encoding.ASCII.GetBytes("FERRY-CLEARTEXT-MARKER-7f3a91c2d4e5");

    /// <summary>Options with a known_hosts file of the test's own, so keys other than the shared test key never leak into other tests.</summary>
    internal static ClientOptions Options(TcpTestEnv env, int streams = 1, string? token = null, bool insecure = false, string? serverKey = null) => new()
    {
        Streams = streams,
        Token = token,
        Insecure = insecure,
        ServerKey = serverKey,
        KnownHosts = new KnownHosts(Path.Combine(env.Dir, "known_hosts")),
    };

    /// <summary>Seeded random bytes with the marker planted every 40 KiB (so every block and stream carries it).</summary>
    private static byte[] WriteMarked(string path, int size, int seed)
    {
        var data = TcpTestEnv.WriteRandom(path, size, seed);
        for (int at = 1000; at + s_marker.Length < size; at += 40 * 1024)
        {
            s_marker.CopyTo(data, at);
        }

        File.WriteAllBytes(path, data);
        return data;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public async Task Encrypted_RoundTripBothWays_AndNoFileByteTokenOrPathCrossesInClear(int streams)
    {
        await using var env = new TcpTestEnv();
        var data = WriteMarked(Path.Combine(env.Root, "secret-name.bin"), (16 * TcpTestEnv.BlockSize) + 333, seed: streams);
        var store = new TokenStore(env.State);
        string token = store.Create("rw", read: true, write: true, null, DateTimeOffset.UtcNow, null);
        var server = await env.StartServerAsync(allowInsecure: false, access: new AccessPolicy(store, requireToken: true));
        await using var proxy = new TcpCaptureProxy(server.Port);
        string dest = Path.Combine(env.Local, "copy.bin");
        var options = Options(env, streams, token);

        var get = await TcpTestEnv.Client().GetAsync(proxy.Url("secret-name.bin"), dest, options, TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);
        var put = await TcpTestEnv.Client().SendAsync(dest, proxy.Url("up/secret-upload.bin"), options, TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, await File.ReadAllBytesAsync(dest));
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Root, "up", "secret-upload.bin")));
        Assert.Equal(streams, get.Stats["streams"]);
        Assert.Equal(streams, put.Stats["streams"]);
        Assert.True(proxy.Bytes > 2L * data.Length, "the proxy carried both transfers");
        Assert.Equal(2 * (1 + streams), proxy.Connections);
        Assert.False(proxy.Saw(s_marker), "file bytes crossed the wire in clear");
        Assert.False(proxy.Saw(Encoding.ASCII.GetBytes(token)), "the token crossed the wire in clear");
        Assert.False(proxy.Saw("secret-name"u8), "the path crossed the wire in clear");
        Assert.False(proxy.Saw("FRYT"u8), "the preamble crossed the wire in clear");
    }

    [Fact]
    public async Task Insecure_BothSides_IsCleartext_TheControlForTheCaptureTest()
    {
        await using var env = new TcpTestEnv();
        var data = WriteMarked(Path.Combine(env.Root, "plain.bin"), (4 * TcpTestEnv.BlockSize) + 5, seed: 3);
        var server = await env.StartServerAsync(allowInsecure: true);
        await using var proxy = new TcpCaptureProxy(server.Port);
        string dest = Path.Combine(env.Local, "plain.bin");

        await TcpTestEnv.Client().GetAsync(proxy.Url("plain.bin"), dest, Options(env, 2, insecure: true), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, await File.ReadAllBytesAsync(dest));
        Assert.True(proxy.Saw(s_marker));
        Assert.True(proxy.Saw("FRYT"u8));
        Assert.False(File.Exists(Path.Combine(env.Dir, "known_hosts")), "a cleartext session has no key to pin");
    }

    [Fact]
    public async Task FirstContact_PinsTheKey_AndTheSecondIsTrusted()
    {
        await using var env = new TcpTestEnv();
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 1000, seed: 1);
        var server = await env.StartServerAsync(allowInsecure: false);
        var notices = new List<string>();
        var options = Options(env);
        options.Notice = notices.Add;

        await TcpTestEnv.Client().GetAsync(server.Url("f.bin"), Path.Combine(env.Local, "a"), options, TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);
        await TcpTestEnv.Client().GetAsync(server.Url("f.bin"), Path.Combine(env.Local, "b"), options, TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        string line = Assert.Single(await File.ReadAllLinesAsync(options.KnownHosts!.Path));
        Assert.Equal($"127.0.0.1:{server.Port} {TestSecurity.ServerKey.Fingerprint}", line);
        Assert.Contains(TestSecurity.ServerKey.Fingerprint, Assert.Single(notices));
    }

    [Fact]
    public async Task ChangedServerKey_StopsBeforeOpen_WithExitCode7_AndWritesNothing()
    {
        await using var env = new TcpTestEnv();
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 100_000, seed: 2);
        string src = Path.Combine(env.Local, "src.bin");
        TcpTestEnv.WriteRandom(src, 100_000, seed: 3);
        using var impostor = ServerKeyPair.Generate();
        var server = await env.StartServerAsync(allowInsecure: false, identity: impostor);
        var options = Options(env, streams: 4);
        options.KnownHosts!.Add($"127.0.0.1:{server.Port}", TestSecurity.ServerKey.Fingerprint);
        string dest = Path.Combine(env.Local, "dest.bin");

        var get = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, options, TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));
        var put = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().SendAsync(src, server.Url("up.bin"), options, TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));

        Assert.Equal(ExitCode.ServerKeyMismatch, get.Code);
        Assert.Equal(ExitCode.ServerKeyMismatch, put.Code);
        Assert.Contains("CHANGED", get.Message);
        Assert.Contains(impostor.Fingerprint, get.Message);
        Assert.False(File.Exists(dest));
        Assert.Empty(Directory.GetFiles(env.Local, "*.ferry-*"));
        Assert.Equal(["f.bin"], Directory.GetFileSystemEntries(env.Root).Select(Path.GetFileName));
        Assert.Equal(0, server.Listener.Counters.DataBytesReceived);
        // The client walked away inside the TLS handshake: the server never read a preamble, let alone OPEN.
        Assert.DoesNotContain("session", server.Log);
        Assert.Single(await File.ReadAllLinesAsync(options.KnownHosts!.Path));
    }

    [Fact]
    public async Task ServerKeyOption_Right_Succeeds_WithoutTouchingKnownHosts_Wrong_IsExitCode7()
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 5000, seed: 4);
        var server = await env.StartServerAsync(allowInsecure: false);
        using var other = ServerKeyPair.Generate();

        var right = Options(env, serverKey: TestSecurity.ServerKey.Fingerprint);
        await TcpTestEnv.Client().GetAsync(server.Url("f.bin"), Path.Combine(env.Local, "ok"), right, TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);
        var wrong = Options(env, serverKey: other.Fingerprint);
        var e = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().GetAsync(server.Url("f.bin"), Path.Combine(env.Local, "no"), wrong, TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Local, "ok")));
        Assert.False(File.Exists(right.KnownHosts!.Path), "--server-key pins up front; known_hosts is not consulted or written");
        Assert.Equal(ExitCode.ServerKeyMismatch, e.Code);
        Assert.Contains("--server-key", e.Message);
        Assert.False(File.Exists(Path.Combine(env.Local, "no")));
    }

    [Fact]
    public async Task CleartextClient_AtASecureOnlyServer_IsToldToDropInsecure()
    {
        await using var env = new TcpTestEnv();
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 1000, seed: 5);
        var server = await env.StartServerAsync(allowInsecure: false);

        var e = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().GetAsync(server.Url("f.bin"), Path.Combine(env.Local, "f"), Options(env, insecure: true), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));

        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("this server requires encryption; drop --insecure", e.Message);
        Assert.False(File.Exists(Path.Combine(env.Local, "f")));
    }

    [Fact]
    public async Task EncryptingClient_AtAKeylessServer_IsToldItServesCleartextOnly_AndInsecureWorks()
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 1000, seed: 6);
        var server = await env.StartServerAsync(keyless: true, allowInsecure: false);

        var e = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().GetAsync(server.Url("f.bin"), Path.Combine(env.Local, "enc"), Options(env), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));
        await TcpTestEnv.Client().GetAsync(server.Url("f.bin"), Path.Combine(env.Local, "plain"), Options(env, insecure: true), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("serves only cleartext", e.Message);
        Assert.Contains("--insecure", e.Message);
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Local, "plain")));
    }
}
