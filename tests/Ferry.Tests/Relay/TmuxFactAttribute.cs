namespace Ferry.Tests.Relay;

/// <summary>A fact that drives a real terminal through tmux; skipped with a reason when tmux is not installed.</summary>
public sealed class TmuxFactAttribute : FactAttribute
{
    public TmuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/tmux"))
        {
            Skip = "tmux not found (install the Debian package tmux; scripts/test.sh does so as root)";
        }
    }
}
