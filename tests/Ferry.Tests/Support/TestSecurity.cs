using System.Runtime.CompilerServices;
using Ferry.Protocol.Security;

namespace Ferry.Tests.Support;

/// <summary>
/// Security settings every test shares: known_hosts goes to a fresh temporary directory (never the user's
/// ~/.config), and every in-process test server presents <see cref="ServerKey"/>, so trust-on-first-use never
/// sees two keys on a reused ephemeral port. Tests of pinning itself use their own KnownHosts files and keys.
/// </summary>
public static class TestSecurity
{
    /// <summary>The one long-term key of in-process test servers.</summary>
    public static ServerKeyPair ServerKey { get; } = ServerKeyPair.Generate();

    /// <summary>The FERRY_CONFIG_DIR of this test run.</summary>
    public static string ConfigDir { get; private set; } = string.Empty;

    [ModuleInitializer]
    internal static void Init()
    {
        ConfigDir = Directory.CreateTempSubdirectory("ferry-test-config-").FullName;
        Environment.SetEnvironmentVariable("FERRY_CONFIG_DIR", ConfigDir);
        Environment.SetEnvironmentVariable("FERRY_KNOWN_HOSTS", null);
        Environment.SetEnvironmentVariable("FERRY_TOKEN", null);
        // Upload keys (kept by `ferry send` until an upload succeeds) go there too, never to the user's ~/.local/state.
        Environment.SetEnvironmentVariable("XDG_STATE_HOME", Path.Combine(ConfigDir, "state"));
    }
}
