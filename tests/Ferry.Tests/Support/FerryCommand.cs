using System.Diagnostics;
using System.Text;

namespace Ferry.Tests.Support;

/// <summary>Starts the real <c>ferry</c> (ferry.dll, copied next to the tests) with every stream redirected.</summary>
internal static class FerryCommand
{
    /// <summary>
    /// Starts <c>ferry ARGS</c>: each stdout line goes to <paramref name="onLine"/>, stderr is appended to
    /// <paramref name="stderr"/> (under its lock), and <paramref name="exited"/> completes when the process ends.
    /// </summary>
    public static Process Start(IEnumerable<string> args, Action<string> onLine, StringBuilder stderr, TaskCompletionSource exited, params (string Name, string Value)[] environment)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ferry.dll"));
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                onLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.Exited += (_, _) => exited.TrySetResult();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
