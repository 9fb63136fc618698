using System.Globalization;
using Ferry.Tests.Files;

namespace Ferry.Tests.Wan;

/// <summary>
/// A fact that needs the emulated WAN of bench/wan.sh: root with CAP_NET_ADMIN and CAP_SYS_ADMIN (network
/// namespaces), /dev/net/tun, iproute2's <c>ip</c>, and the repository's bench/ folder. Skipped with the reason
/// otherwise (for example in a container started without those capabilities).
/// </summary>
public sealed class WanFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_missing = new(FindMissing);

    public WanFactAttribute()
    {
        if (s_missing.Value is { } reason)
        {
            Skip = reason;
        }
    }

    private static string? FindMissing()
    {
        if (!TestNative.IsRoot)
        {
            return "needs root (creates network namespaces and TUN devices for the emulated WAN)";
        }

        if (!File.Exists("/dev/net/tun"))
        {
            return "needs /dev/net/tun (TUN devices) for the emulated WAN";
        }

        // CapEff bit 12 is CAP_NET_ADMIN, bit 21 CAP_SYS_ADMIN (ip netns bind-mounts the namespace files).
        string? capLine = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        ulong caps = capLine is null ? 0 : ulong.Parse(capLine["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if ((caps & (1UL << 12)) == 0 || (caps & (1UL << 21)) == 0)
        {
            return "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (network namespaces) for the emulated WAN";
        }

        if (WanLink.FindIp() is null)
        {
            return "needs iproute2 ('ip'; apt-get install iproute2) for the emulated WAN";
        }

        return WanLink.FindRepository() is null ? "bench/wan.sh not found above the test assembly" : null;
    }
}
