namespace Ferry.Tests.Files;

/// <summary>A fact that mounts a small tmpfs; skipped with a reason when not root or when mounting is not permitted.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_whyNot = new(Probe);

    public TmpfsFactAttribute()
    {
        if (s_whyNot.Value is { } reason)
        {
            Skip = reason;
        }
    }

    private static string? Probe()
    {
        if (!TestNative.IsRoot)
        {
            return "needs root to mount a small tmpfs";
        }

        using var dir = new TempDir();
        try
        {
            if (TestNative.Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir.Path) != 0)
            {
                return "mount -t tmpfs is not permitted here (no CAP_SYS_ADMIN?)";
            }

            TestNative.Run("umount", dir.Path);
            return null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "the mount command is not available";
        }
    }
}
