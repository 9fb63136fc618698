using System.Runtime.InteropServices;

namespace Ferry.Zmq.Native;

/// <summary>Finds out once whether libzmq.so.5 can be loaded, and says what to install when it cannot.</summary>
public static class ZmqLibrary
{
    /// <summary>What a user must do when the library is missing (used by errors and skipped tests).</summary>
    public const string InstallHint = "libzmq.so.5 was not found: install the Debian package libzmq5 (sudo apt-get install libzmq5)";

    private static readonly Lazy<(bool Ok, string Version)> s_probe = new(Probe);

    /// <summary>True when libzmq.so.5 loads and is version 4.x or later.</summary>
    public static bool IsAvailable => s_probe.Value.Ok;

    /// <summary>"4.3.4", or empty when unavailable.</summary>
    public static string Version => s_probe.Value.Version;

    /// <summary>Throws a <see cref="DllNotFoundException"/> carrying <see cref="InstallHint"/> when the library is missing.</summary>
    public static void EnsureAvailable()
    {
        if (!IsAvailable)
        {
            throw new DllNotFoundException(InstallHint);
        }
    }

    private static (bool, string) Probe()
    {
        if (!NativeLibrary.TryLoad(LibZmq.Library, out nint handle))
        {
            return (false, string.Empty);
        }

        NativeLibrary.Free(handle);
        LibZmq.Version(out int major, out int minor, out int patch);
        return (major >= 4, $"{major}.{minor}.{patch}");
    }
}
