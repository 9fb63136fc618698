using System.Reflection;

namespace Ferry.Tests.Udp;

/// <summary>src/Ferry.Protocol is pure: no sockets, no clock, no sleeps, no files.</summary>
public class ProtocolPurityTests
{
    private static readonly string[] s_banned =
    {
        "System.Net.Sockets", "DateTime.Now", "DateTime.UtcNow", "DateTimeOffset.Now", "DateTimeOffset.UtcNow",
        "Stopwatch", "Environment.TickCount", "Task.Delay", "Thread.Sleep", "File.", "FileStream", "Directory.",
        "TimeProvider", "new Random(", "Random.Shared",
    };

    [Fact]
    public void Protocol_assembly_references_no_socket_assembly()
    {
        var asm = typeof(Ferry.Protocol.Udp.Connection).Assembly;
        var refs = asm.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain("System.Net.Sockets", refs);
        Assert.DoesNotContain(refs, r => r!.StartsWith("System.IO.FileSystem", StringComparison.Ordinal));
    }

    [Fact]
    public void Protocol_sources_use_no_clock_socket_sleep_or_file_api()
    {
        string dir = Path.Combine(RepoRoot(), "src", "Ferry.Protocol");
        var offences = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            {
                continue;
            }

            int lineNo = 0;
            foreach (var line in File.ReadLines(file))
            {
                lineNo++;
                string code = line.TrimStart();
                if (code.StartsWith("//", StringComparison.Ordinal) || code.StartsWith("///", StringComparison.Ordinal) || code.StartsWith('*'))
                {
                    continue;
                }

                foreach (var banned in s_banned)
                {
                    if (code.Contains(banned, StringComparison.Ordinal))
                    {
                        offences.Add($"{Path.GetRelativePath(dir, file)}:{lineNo}: {banned}");
                    }
                }
            }
        }

        Assert.True(offences.Count == 0, string.Join("\n", offences));
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ferry.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (Ferry.slnx) not found above " + AppContext.BaseDirectory);
    }
}
