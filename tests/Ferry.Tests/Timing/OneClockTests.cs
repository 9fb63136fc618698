using Ferry.Tests.Udp;

namespace Ferry.Tests.Timing;

/// <summary>src/Ferry reads time only through <see cref="Ferry.Timing.ShellClock"/> and its <see cref="TimeProvider"/>.</summary>
public class OneClockTests
{
    private static readonly string[] s_banned =
    {
        "DateTime.Now", "DateTime.UtcNow", "DateTimeOffset.Now", "DateTimeOffset.UtcNow", "Environment.TickCount", "Stopwatch.GetTimestamp",
    };

    // Times the outside world checks against the real clock: file modification times (upload keys age by mtime)
    // and the validity window of the generated TLS certificate.
    private static readonly string[] s_allowed =
    {
        Path.Combine("Transfers", "UploadKeys.cs"),
        Path.Combine("Tcp", "TcpServerTls.cs"),
    };

    [Fact]
    public void Engine_sources_read_no_clock_but_the_shell_clock()
    {
        string dir = Path.Combine(ProtocolPurityTests.RepoRoot(), "src", "Ferry");
        var offences = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(dir, file);
            if (relative.StartsWith("obj", StringComparison.Ordinal) || relative.StartsWith("bin", StringComparison.Ordinal) || s_allowed.Contains(relative))
            {
                continue;
            }

            int lineNo = 0;
            foreach (var line in File.ReadLines(file))
            {
                lineNo++;
                string code = line.TrimStart();
                if (code.StartsWith("//", StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (var banned in s_banned)
                {
                    if (code.Contains(banned, StringComparison.Ordinal))
                    {
                        offences.Add($"{relative}:{lineNo}: {banned}");
                    }
                }
            }
        }

        Assert.True(offences.Count == 0, string.Join("\n", offences));
    }
}
