using Ferry.Security;
using Ferry.Transfers;
using Microsoft.Extensions.Time.Testing;

namespace Ferry.Tests.Tcp.Security;

/// <summary>Access tokens on tcp:// (OPEN carries the token inside TLS; the server checks it before opening anything).</summary>
public sealed class TcpAccessTests
{
    private sealed record Tokens(string ReadOnly, string PubOnly, string Expired, string WriteOnly);

    private static async Task<(TcpTestEnv Env, TcpTestServer Server, Tokens Tokens, string Source)> StartAsync(bool requireToken = false)
    {
        var env = new TcpTestEnv();
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "pub", "f.bin"), 3 * TcpTestEnv.BlockSize, seed: 1);
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "priv", "f.bin"), 1000, seed: 2);
        string source = Path.Combine(env.Local, "src.bin");
        TcpTestEnv.WriteRandom(source, 2 * TcpTestEnv.BlockSize, seed: 3);
        var store = new TokenStore(env.State);
        var now = DateTimeOffset.UtcNow;
        var tokens = new Tokens(
            store.Create("ro", read: true, write: false, null, now, null),
            store.Create("pub", read: true, write: true, TokenStore.NormalizePrefix("/pub/"), now, null),
            store.Create("old", read: true, write: true, null, now - TimeSpan.FromHours(2), TimeSpan.FromHours(1)),
            store.Create("wo", read: false, write: true, null, now, null));
        var server = await env.StartServerAsync(allowInsecure: false, access: new AccessPolicy(store, requireToken));
        return (env, server, tokens, source);
    }

    private static Task<TransferResult> Get(TcpTestEnv env, TcpTestServer server, string path, string? token, string dest = "out.bin") =>
        TcpTestEnv.Client().GetAsync(server.Url(path), Path.Combine(env.Local, dest), TcpSecurityTests.Options(env, 2, token), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

    private static Task<TransferResult> Send(TcpTestEnv env, TcpTestServer server, string source, string path, string? token) =>
        TcpTestEnv.Client().SendAsync(source, server.Url(path), TcpSecurityTests.Options(env, 2, token), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

    private static async Task<TransferException> Refused(Task task, string expected)
    {
        var e = await Assert.ThrowsAsync<TransferException>(() => task);
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.StartsWith("server: ", e.Message);
        Assert.Contains(expected, e.Message);
        return e;
    }

    [Fact]
    public async Task ReadOnlyToken_Downloads_ButMayNotUpload()
    {
        var (env, server, tokens, source) = await StartAsync();
        await using var _ = env;

        await Get(env, server, "priv/f.bin", tokens.ReadOnly);
        await Refused(Send(env, server, source, "new.bin", tokens.ReadOnly), "'ro' may not write");
        await Refused(Get(env, server, "pub/f.bin", tokens.WriteOnly, "wo.bin"), "'wo' may not read");

        Assert.False(File.Exists(Path.Combine(env.Root, "new.bin")));
        Assert.Empty(Directory.GetFiles(env.Root, "*.ferry-*", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(env.Local, "wo.bin")));
    }

    [Fact]
    public async Task PathPrefixToken_WorksInsideItsPrefix_Only()
    {
        var (env, server, tokens, source) = await StartAsync();
        await using var _ = env;

        await Send(env, server, source, "pub/sub/up.bin", tokens.PubOnly);
        await Get(env, server, "pub/f.bin", tokens.PubOnly);
        await Refused(Send(env, server, source, "priv/up.bin", tokens.PubOnly), "limited to 'pub/'");
        await Refused(Get(env, server, "priv/f.bin", tokens.PubOnly, "p.bin"), "limited to 'pub/'");
        await Refused(Get(env, server, "public/f.bin", tokens.PubOnly, "p.bin"), "limited to 'pub/'");
        await Refused(Get(env, server, "pub/../priv/f.bin", tokens.PubOnly, "p.bin"), "limited to 'pub/'");

        Assert.True(File.Exists(Path.Combine(env.Root, "pub", "sub", "up.bin")));
        Assert.False(File.Exists(Path.Combine(env.Root, "priv", "up.bin")));
        Assert.False(File.Exists(Path.Combine(env.Local, "p.bin")));
    }

    [Fact]
    public async Task ExpiredUnknownOrMissingToken_IsRefused_WhenTokensExist()
    {
        var (env, server, tokens, _) = await StartAsync();
        await using var __ = env;

        await Refused(Get(env, server, "pub/f.bin", tokens.Expired), "'old' expired");
        await Refused(Get(env, server, "pub/f.bin", "ferry_not-a-real-token-at-all-0000000"), "not accepted");
        await Refused(Get(env, server, "pub/f.bin", null), "requires an access token");

        Assert.False(File.Exists(Path.Combine(env.Local, "out.bin")));
        Assert.Contains("expired", server.Log);
    }

    [Fact]
    public async Task TokenExpiry_AndLogStamps_FollowTheServersClock()
    {
        // A server clock years away from the real one: read from the real clock, this token would be expired from
        // the start, and the log stamps would show today's date.
        var time = new FakeTimeProvider(new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero));
        await using var env = new TcpTestEnv();
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 1000, seed: 4);
        var store = new TokenStore(env.State);
        string token = store.Create("hour", read: true, write: false, null, time.GetUtcNow(), TimeSpan.FromHours(1));
        var server = await env.StartServerAsync(allowInsecure: false, access: new AccessPolicy(store, requireToken: false), time: time);

        await Get(env, server, "f.bin", token);
        Assert.Contains("2001-02-03T04:05:06.000Z tcp ", server.Log);

        time.Advance(TimeSpan.FromHours(1));
        await Refused(Get(env, server, "f.bin", token, "late.bin"), "'hour' expired");
        Assert.False(File.Exists(Path.Combine(env.Local, "late.bin")));
        Assert.Contains("2001-02-03T05:05:06.000Z tcp ", server.Log);
    }

    [Fact]
    public async Task RequireToken_WithNoTokensConfigured_RefusesAnonymousClients()
    {
        await using var env = new TcpTestEnv();
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 1000, seed: 4);
        var server = await env.StartServerAsync(allowInsecure: false, access: new AccessPolicy(new TokenStore(env.State), requireToken: true));

        await Refused(Get(env, server, "f.bin", null), "--token or set FERRY_TOKEN");

        Assert.False(File.Exists(Path.Combine(env.Local, "out.bin")));
        Assert.Equal(0, server.Listener.SessionCount);
    }

    [Fact]
    public async Task OpenServer_NeedsNoToken_ForReadOrWrite()
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 1000, seed: 5);
        var server = await env.StartServerAsync(allowInsecure: false);

        await Get(env, server, "f.bin", null, "a.bin");
        await Send(env, server, Path.Combine(env.Local, "a.bin"), "back.bin", null);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Root, "back.bin")));
    }
}
