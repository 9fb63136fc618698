using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Ferry.Udp;
using Xunit;

namespace Ferry.Tests.Udp;

/// <summary>udp:// encryption, key pinning and access tokens with the real listener and client on 127.0.0.1.</summary>
public sealed class UdpSecurityEndToEndTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(60);

    private static ClientOptions Options(UdpServerFixture server, string? token = null, string? serverKey = null, bool insecure = false, List<string>? notices = null) => new()
    {
        Token = token,
        ServerKey = serverKey,
        Insecure = insecure,
        KnownHosts = new KnownHosts(server.Local("known_hosts")),
        Notice = notices is null ? null : notices.Add,
    };

    private static Task<TransferResult> Get(UdpServerFixture server, string path, string dest, ClientOptions options) =>
        new UdpTransferClient().GetAsync(server.Url(path), server.Local(dest), options, new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit);

    private static Task<TransferResult> Send(UdpServerFixture server, string src, string path, ClientOptions options) =>
        new UdpTransferClient().SendAsync(server.Local(src), server.Url(path), options, new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit);

    [Fact]
    public async Task First_use_pins_the_key_and_a_changed_key_is_refused_before_anything_is_sent()
    {
        await using var server = new UdpServerFixture();
        File.WriteAllBytes(Path.Combine(server.Root, "f.bin"), new byte[70_000]);
        var notices = new List<string>();
        await Get(server, "f.bin", "one.bin", Options(server, notices: notices));
        Assert.Contains(notices, n => n.Contains(TestSecurity.ServerKey.Fingerprint, StringComparison.Ordinal) && n.Contains("pinned", StringComparison.Ordinal));
        notices.Clear();
        await Get(server, "f.bin", "two.bin", Options(server, notices: notices));
        Assert.Empty(notices);

        // Same host:port, another key: an impostor (or a re-keyed server).
        using var otherKey = ServerKeyPair.Generate();
        var hostsFile = server.Local("known_hosts");
        await using var impostor = new UdpServerFixture(identity: otherKey);
        File.Copy(hostsFile, impostor.Local("known_hosts"));
        File.WriteAllText(impostor.Local("known_hosts"), File.ReadAllText(hostsFile).Replace($":{server.EndPoint.Port} ", $":{impostor.EndPoint.Port} ", StringComparison.Ordinal));
        File.WriteAllBytes(Path.Combine(impostor.Root, "f.bin"), new byte[100]);
        var e = await Assert.ThrowsAsync<TransferException>(() => Get(impostor, "f.bin", "three.bin", Options(impostor)));
        Assert.Equal(ExitCode.ServerKeyMismatch, e.Code);
        Assert.Contains("CHANGED", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(impostor.Local("three.bin")));
        Assert.DoesNotContain("GET", impostor.Log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_key_option_pins_up_front()
    {
        await using var server = new UdpServerFixture();
        File.WriteAllBytes(Path.Combine(server.Root, "f.bin"), new byte[5000]);
        await Get(server, "f.bin", "ok.bin", Options(server, serverKey: TestSecurity.ServerKey.Fingerprint));
        Assert.False(File.Exists(server.Local("known_hosts")));

        using var other = ServerKeyPair.Generate();
        var e = await Assert.ThrowsAsync<TransferException>(() => Get(server, "f.bin", "no.bin", Options(server, serverKey: other.Fingerprint)));
        Assert.Equal(ExitCode.ServerKeyMismatch, e.Code);
        Assert.Contains("--server-key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tokens_are_enforced_for_reading_writing_and_paths()
    {
        await using var server = new UdpServerFixture();
        var now = DateTimeOffset.UtcNow;
        string reader = server.Tokens.Create("reader", read: true, write: false, "pub", now, null);
        string writer = server.Tokens.Create("writer", read: false, write: true, "in", now, null);
        string expired = server.Tokens.Create("old", read: true, write: true, null, now.AddDays(-2), TimeSpan.FromDays(1));
        Directory.CreateDirectory(Path.Combine(server.Root, "pub"));
        File.WriteAllBytes(Path.Combine(server.Root, "pub", "f.bin"), new byte[20_000]);
        File.WriteAllBytes(Path.Combine(server.Root, "private.bin"), new byte[20_000]);
        File.WriteAllBytes(server.Local("src.bin"), new byte[30_000]);

        await Get(server, "pub/f.bin", "a.bin", Options(server, token: reader));
        var anonymous = await Assert.ThrowsAsync<TransferException>(() => Get(server, "pub/f.bin", "b.bin", Options(server)));
        Assert.Equal(ExitCode.Refused, anonymous.Code);
        Assert.Contains("requires an access token", anonymous.Message, StringComparison.Ordinal);
        var outside = await Assert.ThrowsAsync<TransferException>(() => Get(server, "private.bin", "c.bin", Options(server, token: reader)));
        Assert.Contains("limited to 'pub/'", outside.Message, StringComparison.Ordinal);
        var readOnly = await Assert.ThrowsAsync<TransferException>(() => Send(server, "src.bin", "pub/new.bin", Options(server, token: reader)));
        Assert.Contains("may not write", readOnly.Message, StringComparison.Ordinal);
        var old = await Assert.ThrowsAsync<TransferException>(() => Get(server, "pub/f.bin", "d.bin", Options(server, token: expired)));
        Assert.Contains("expired", old.Message, StringComparison.Ordinal);

        await Send(server, "src.bin", "in/new.bin", Options(server, token: writer));
        Assert.Equal(30_000, new FileInfo(Path.Combine(server.Root, "in", "new.bin")).Length);
        Assert.False(File.Exists(Path.Combine(server.Root, "pub", "new.bin")));
        Assert.False(File.Exists(server.Local("c.bin")));
    }

    [Fact]
    public async Task Server_log_names_the_token_and_the_direction_of_allowed_transfers()
    {
        await using var server = new UdpServerFixture();
        var now = DateTimeOffset.UtcNow;
        string reader = server.Tokens.Create("reader", read: true, write: false, null, now, null);
        string writer = server.Tokens.Create("writer", read: false, write: true, null, now, null);
        File.WriteAllBytes(Path.Combine(server.Root, "f.bin"), new byte[20_000]);
        File.WriteAllBytes(server.Local("src.bin"), new byte[30_000]);

        await Get(server, "f.bin", "a.bin", Options(server, token: reader));
        await Send(server, "src.bin", "new.bin", Options(server, token: writer));
        _ = await Assert.ThrowsAsync<TransferException>(() => Send(server, "src.bin", "x.bin", Options(server, token: reader)));

        // The GET's last line is written when the client's RESULT arrives, which may be just after the client returns.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Logged(server).Contains("GET f.bin done", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        string log = Logged(server);
        Assert.Contains("GET f.bin (20000 bytes, token 'reader')", log, StringComparison.Ordinal);
        Assert.Contains("GET f.bin done: 20000 bytes sent", log, StringComparison.Ordinal);
        Assert.Contains("PUT new.bin (30000 bytes, token 'writer')", log, StringComparison.Ordinal);
        Assert.Contains("PUT x.bin refused", log, StringComparison.Ordinal);
        Assert.DoesNotContain("received f.bin", log, StringComparison.Ordinal);
        Assert.DoesNotContain(" Put ", log, StringComparison.Ordinal);
        Assert.DoesNotContain(" Get ", log, StringComparison.Ordinal);
    }

    private static string Logged(UdpServerFixture server)
    {
        lock (server.Log)
        {
            return server.Log.ToString();
        }
    }

    [Fact]
    public async Task Require_token_refuses_anonymous_clients_of_a_server_without_tokens()
    {
        await using var server = new UdpServerFixture(requireToken: true);
        File.WriteAllBytes(Path.Combine(server.Root, "f.bin"), new byte[100]);
        var e = await Assert.ThrowsAsync<TransferException>(() => Get(server, "f.bin", "x.bin", Options(server)));
        Assert.Equal(ExitCode.Refused, e.Code);
    }

    [Fact]
    public async Task Insecure_needs_both_sides()
    {
        await using var strict = new UdpServerFixture();
        File.WriteAllBytes(Path.Combine(strict.Root, "f.bin"), new byte[100]);
        var e = await Assert.ThrowsAsync<TransferException>(() => Get(strict, "f.bin", "x.bin", Options(strict, insecure: true)));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("drop --insecure", e.Message, StringComparison.Ordinal);

        await using var lax = new UdpServerFixture(allowInsecure: true);
        File.WriteAllBytes(Path.Combine(lax.Root, "f.bin"), new byte[100_000]);
        var r = await Get(lax, "f.bin", "y.bin", Options(lax, insecure: true));
        Assert.Equal(100_000, r.Bytes);
        Assert.False(File.Exists(lax.Local("known_hosts"))); // no key was involved
        await Get(lax, "f.bin", "z.bin", Options(lax)); // and it still encrypts for everyone else
    }
}
