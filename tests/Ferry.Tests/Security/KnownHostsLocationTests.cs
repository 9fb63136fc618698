using Ferry.Files;
using Ferry.Security;
using Ferry.Tests.Files;
using Ferry.Tests.Support;
using Ferry.Tests.Tcp;

namespace Ferry.Tests.Security;

/// <summary>
/// Where pins live: always an absolute path, from the platform's rules, with a private fallback for a user without
/// a home; and a user whose known_hosts cannot be written still downloads, told that the key was not pinned.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KnownHostsLocationTests
{
    private const string PasswdHome = "/home/someone";

    [Theory]
    [InlineData("FERRY_KNOWN_HOSTS=/k/hosts|HOME=/h", "/k/hosts")]
    [InlineData("FERRY_CONFIG_DIR=/c|XDG_CONFIG_HOME=/x|HOME=/h", "/c/known_hosts")]
    [InlineData("XDG_CONFIG_HOME=/x|HOME=/h", "/x/ferry/known_hosts")]
    [InlineData("XDG_CONFIG_HOME=relative|HOME=/h", "/h/.config/ferry/known_hosts")]
    [InlineData("HOME=/h", "/h/.config/ferry/known_hosts")]
    [InlineData("", PasswdHome + "/.config/ferry/known_hosts")]
    [InlineData("HOME=", PasswdHome + "/.config/ferry/known_hosts")]
    public void The_file_follows_the_platform_rules(string environment, string expected)
    {
        var env = Parse(environment);
        Assert.Equal(expected, KnownHosts.DefaultPath(env.GetValueOrDefault, () => PasswdHome, out bool fallback));
        Assert.False(fallback);
    }

    [Theory]
    [InlineData("TMPDIR=/t")]
    [InlineData("TMPDIR=/t|HOME=relative/home")]
    public void Without_a_usable_home_the_file_is_in_a_private_temporary_directory(string environment)
    {
        var env = Parse(environment);
        string path = KnownHosts.DefaultPath(env.GetValueOrDefault, () => null, out bool fallback);
        Assert.True(fallback);
        Assert.Equal($"/t/ferry-{NativeFile.EffectiveUserId}/known_hosts", path);
    }

    [Fact]
    public async Task With_a_relative_home_the_key_is_pinned_under_an_absolute_path_and_the_download_works()
    {
        await using var server = new UdpServerFixture();
        File.WriteAllText(Path.Combine(server.Root, "a.txt"), "hello");
        using var tmp = new TempDir();

        var run = await FerryRun.RunAsync(["get", server.Url("a.txt").ToString(), server.Local("a.txt")], environment: NoHome(tmp.Path, home: "relative/home"));

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardError}");
        string expected = Path.Combine(tmp.Path, $"ferry-{NativeFile.EffectiveUserId}", "known_hosts");
        Assert.Contains($"pinned in {expected} (no home directory", run.StandardError, StringComparison.Ordinal);
        Assert.Contains(TestSecurity.ServerKey.Fingerprint, File.ReadAllText(expected), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(expected)!));
    }

    [Fact]
    public void A_fallback_directory_others_may_write_is_not_trusted()
    {
        using var tmp = new TempDir();
        string dir = Path.Combine(tmp.Path, $"ferry-{NativeFile.EffectiveUserId}");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0x1FF); // 0777: anyone could have planted a key here
        File.WriteAllText(Path.Combine(dir, "known_hosts"), "127.0.0.1:1 SHA256:planted\n");
        var hosts = KnownHosts.FromRules(new Dictionary<string, string?> { ["TMPDIR"] = tmp.Path }.GetValueOrDefault, () => null);

        var e = Assert.Throws<IOException>(() => hosts.Lookup("127.0.0.1:1"));
        Assert.Contains("not a private directory", e.Message, StringComparison.Ordinal);
        Assert.Throws<IOException>(() => hosts.Add("127.0.0.1:2", "SHA256:x"));
    }

    [Fact]
    public async Task With_an_unwritable_home_the_download_works_and_says_the_key_was_not_pinned()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync(allowInsecure: false);
        File.WriteAllText(Path.Combine(env.Root, "a.txt"), "hello");
        using var tmp = new TempDir();
        string dest = Path.Combine(env.Local, "a.txt");
        // A regular file as HOME: nothing can be created under it, not even by root.
        string home = Path.Combine(tmp.Path, "home-is-a-file");
        File.WriteAllText(home, string.Empty);

        var run = await FerryRun.RunAsync(["get", server.Url("a.txt").ToString(), dest, "--streams", "3"], environment: NoHome(tmp.Path, home));

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardError}");
        Assert.Equal("hello", File.ReadAllText(dest));
        // Said once, though each tcp:// connection checks the key.
        Assert.Single(run.StandardError.Split('\n'), l => l.Contains($"NOT pinned: cannot write {home}/.config/ferry/known_hosts", StringComparison.Ordinal));
        Assert.Contains("FERRY_KNOWN_HOSTS", run.StandardError, StringComparison.Ordinal);
    }

    /// <summary>An environment with none of the location variables but HOME and TMPDIR.</summary>
    private static Dictionary<string, string?> NoHome(string tmp, string? home) => new()
    {
        ["FERRY_KNOWN_HOSTS"] = null,
        ["FERRY_CONFIG_DIR"] = null,
        ["XDG_CONFIG_HOME"] = null,
        ["HOME"] = home,
        ["TMPDIR"] = tmp,
    };

    private static Dictionary<string, string?> Parse(string environment) =>
        environment.Split('|', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => (string?)kv[1]);
}
