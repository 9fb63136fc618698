using System.Diagnostics;

namespace Ferry.Tests.Wan;

/// <summary>
/// An emulated WAN link brought up with bench/wan.sh under a name of its own (its own two namespaces), torn down
/// on dispose. Host A is 10.77.0.1, host B 10.77.0.2.
/// </summary>
internal sealed class WanLink : IDisposable
{
    public const string AddressB = "10.77.0.2";

    private readonly string _repository;
    private readonly string _name;

    private WanLink(string repository, string name)
    {
        _repository = repository;
        _name = name;
    }

    public string NamespaceA => _name + "-a";

    public string NamespaceB => _name + "-b";

    public string Ip { get; } = FindIp()!;

    /// <summary>Brings the link up (building the emulator if needed); throws with the script's output if it fails,
    /// after tearing down whatever was set up.</summary>
    public static WanLink Up(TimeSpan limit, params string[] linkOptions)
    {
        string repo = FindRepository() ?? throw new InvalidOperationException("bench/wan.sh not found");
        var link = new WanLink(repo, "ferryt" + Environment.ProcessId);
        var (code, output) = link.Script(limit, ["up", .. linkOptions]);
        if (code != 0)
        {
            link.Dispose();
            throw new InvalidOperationException($"bench/wan.sh up exited {code}:\n{output}");
        }

        return link;
    }

    public NamespaceProcess Exec(string netns, string program, params string[] args) => new(Ip, netns, program, args);

    /// <summary>The emulator's output so far (link parameters; counters after <see cref="Dispose"/> are not kept).</summary>
    public string Log() => Script(TimeSpan.FromSeconds(30), ["log"]).Output;

    public void Dispose() => Script(TimeSpan.FromSeconds(60), ["down"]);

    public static string? FindIp() =>
        new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists);

    public static string? FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bench", "wan.sh")) && File.Exists(Path.Combine(dir.FullName, "bench", "WanEmu", "WanEmu.csproj")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    private (int Code, string Output) Script(TimeSpan limit, string[] args)
    {
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _repository,
        };
        psi.ArgumentList.Add(Path.Combine(_repository, "bench", "wan.sh"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["FERRY_WAN_NAME"] = _name;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, $"timed out after {limit.TotalSeconds} s\n{stdout.Result}{stderr.Result}");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
