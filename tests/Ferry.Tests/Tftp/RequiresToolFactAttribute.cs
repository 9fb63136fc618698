namespace Ferry.Tests.Tftp;

/// <summary>An interop fact that needs an external program; skipped with a reason when it is not installed.</summary>
public sealed class RequiresToolFactAttribute : FactAttribute
{
    public RequiresToolFactAttribute(string tool, string package)
    {
        if (ExternalTool.Find(tool) is null)
        {
            Skip = $"'{tool}' not found (install the Debian package {package}; scripts/test.sh does so as root)";
        }
    }
}
