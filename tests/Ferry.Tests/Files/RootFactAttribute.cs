namespace Ferry.Tests.Files;

/// <summary>A fact that needs root (device nodes); skipped with a reason otherwise.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!TestNative.IsRoot)
        {
            Skip = "needs root (creates device nodes)";
        }
    }
}
