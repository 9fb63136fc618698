using System.Text.RegularExpressions;

namespace Ferry.Tests.Tftp;

/// <summary>The TFTP protocol core stays pure: no sockets, no clock, no sleeping, no files.</summary>
public sealed class TftpPurityTests
{
    private static readonly Regex s_forbidden = new(
        @"System\.Net\.Sockets|\bDateTime(Offset)?\.(Now|UtcNow)|\bStopwatch\b|Environment\.TickCount|TimeProvider|Task\.Delay|Thread\.Sleep|\bFile(Stream)?\.|\bDirectory\.|\bnew Random\(",
        RegexOptions.Compiled);

    [Fact]
    public void Protocol_sources_use_no_io_and_no_clock()
    {
        string dir = Path.Combine(RepoRoot(), "src", "Ferry.Protocol", "Tftp");
        var files = Directory.GetFiles(dir, "*.cs");
        Assert.True(files.Length > 10, $"TFTP protocol sources not found in {dir}");
        var offenders = files
            .SelectMany(f => File.ReadAllLines(f).Select((line, i) => (File: Path.GetFileName(f), Line: i + 1, Text: line)))
            .Where(l => s_forbidden.IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, string.Join("\n", offenders));
    }

    [Fact]
    public void Protocol_assembly_does_not_reference_sockets()
    {
        var referenced = typeof(Ferry.Protocol.Tftp.TftpSession).Assembly.GetReferencedAssemblies().Select(a => a.Name);
        Assert.DoesNotContain("System.Net.Sockets", referenced);
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Ferry.slnx")))
            {
                return d.FullName;
            }
        }

        throw new DirectoryNotFoundException("Ferry.slnx not found above " + AppContext.BaseDirectory);
    }
}
