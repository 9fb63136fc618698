using Ferry.Protocol.Security;
using Ferry.Security;
using Xunit;

namespace Ferry.Tests.Security;

public sealed class AccessControlTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ferry-sec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Server_key_is_created_once_private_and_reloaded()
    {
        using var first = ServerIdentity.LoadOrCreate(_dir, out bool created);
        Assert.True(created);
        using var second = ServerIdentity.LoadOrCreate(_dir, out bool createdAgain);
        Assert.False(createdAgain);
        Assert.Equal(first.Fingerprint, second.Fingerprint);
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(Path.Combine(_dir, ServerIdentity.FileName));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        }

        File.WriteAllText(Path.Combine(_dir, ServerIdentity.FileName), "not a key");
        var e = Assert.Throws<InvalidDataException>(() => ServerIdentity.LoadOrCreate(_dir, out _));
        Assert.Contains("server-key.pem", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Known_hosts_pins_on_first_use_and_refuses_a_changed_key()
    {
        var hosts = new KnownHosts(Path.Combine(_dir, "cfg", "known_hosts"));
        using var a = ServerKeyPair.Generate();
        using var b = ServerKeyPair.Generate();
        Assert.Equal(ServerKeyStatus.PinnedNow, hosts.Verify("127.0.0.1:7700", null, a.Fingerprint));
        Assert.Equal(ServerKeyStatus.Trusted, hosts.Verify("127.0.0.1:7700", null, a.Fingerprint));
        var e = Assert.Throws<ServerKeyMismatchException>(() => hosts.Verify("127.0.0.1:7700", null, b.Fingerprint));
        Assert.Contains("CHANGED", e.Message, StringComparison.Ordinal);
        Assert.Contains(b.Fingerprint, e.Message, StringComparison.Ordinal);

        // Another port is another server; an explicit pin wins over the file.
        Assert.Equal(ServerKeyStatus.PinnedNow, hosts.Verify("127.0.0.1:7701", null, b.Fingerprint));
        Assert.Equal(ServerKeyStatus.Trusted, hosts.Verify("127.0.0.1:7700", b.Fingerprint, b.Fingerprint));
        Assert.Throws<ServerKeyMismatchException>(() => hosts.Verify("127.0.0.1:9", a.Fingerprint, b.Fingerprint));
        Assert.Null(hosts.Lookup("127.0.0.1:9"));
        Assert.Equal("[::1]:7700", KnownHosts.HostPort("[::1]", 7700));
        Assert.Equal("example:1", KnownHosts.HostPort("EXAMPLE", 1));
    }

    [Fact]
    public void Tokens_are_stored_as_hashes_and_checked_for_permission_path_and_expiry()
    {
        var store = new TokenStore(_dir);
        var now = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);
        var policy = new AccessPolicy(store, requireToken: false);
        Assert.True(policy.IsOpen);
        Assert.Null(policy.Check(null, AccessKind.Write, "x", now));

        string reader = store.Create("reader", read: true, write: false, "builds/", now, TimeSpan.FromHours(1));
        string writer = store.Create("writer", read: true, write: true, null, now, null);
        Assert.StartsWith(TokenStore.TokenPrefix, reader, StringComparison.Ordinal);
        Assert.DoesNotContain(reader, File.ReadAllText(store.Path), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => store.Create("reader", true, false, null, now, null));

        // A configured token closes the server to anonymous clients.
        Assert.False(policy.IsOpen);
        Assert.Contains("requires an access token", policy.Check(null, AccessKind.Read, "a", now), StringComparison.Ordinal);
        Assert.Contains("not accepted", policy.Check("ferry_nope", AccessKind.Read, "a", now), StringComparison.Ordinal);

        Assert.Null(policy.Check(reader, AccessKind.Read, "builds/a.bin", now));
        Assert.Null(policy.Check(reader, AccessKind.Read, "/builds//x/y", now));
        Assert.Contains("may not write", policy.Check(reader, AccessKind.Write, "builds/a.bin", now), StringComparison.Ordinal);
        Assert.Contains("limited to", policy.Check(reader, AccessKind.Read, "buildsX/a.bin", now), StringComparison.Ordinal);
        Assert.Contains("limited to", policy.Check(reader, AccessKind.Read, "builds/../secret", now), StringComparison.Ordinal);
        Assert.Contains("expired", policy.Check(reader, AccessKind.Read, "builds/a", now.AddHours(2)), StringComparison.Ordinal);
        Assert.Null(policy.Check(writer, AccessKind.Write, "anything/at/all", now));

        // Another process (ferry token revoke) changes the file: the running server sees it.
        Assert.True(new TokenStore(_dir).Revoke("writer"));
        Assert.Contains("not accepted", policy.Check(writer, AccessKind.Write, "a", now), StringComparison.Ordinal);
        Assert.False(store.Revoke("writer"));
    }

    [Fact]
    public void Require_token_closes_a_server_without_tokens()
    {
        var policy = new AccessPolicy(new TokenStore(_dir), requireToken: true);
        Assert.False(policy.IsOpen);
        Assert.NotNull(policy.Check(null, AccessKind.Read, "a", DateTimeOffset.UtcNow));
        Assert.True(AccessPolicy.Open.IsOpen);
    }

    [Fact]
    public void Damaged_token_file_is_a_clear_error()
    {
        File.WriteAllText(Path.Combine(_dir, TokenStore.FileName), "{ \"tokens\": [ { \"name\": 1 } ] }");
        var e = Assert.Throws<InvalidDataException>(() => new TokenStore(_dir).Tokens);
        Assert.Contains("damaged", e.Message, StringComparison.Ordinal);
    }
}
