using System.Diagnostics;

namespace Ferry.Tests.Support;

/// <summary>
/// Runs the real <c>ferry</c> (ferry.dll, copied next to the tests) to its end with bytes on standard input and
/// standard output kept as bytes, for the commands whose data goes through the standard streams.
/// </summary>
internal static class FerryRun
{
    /// <summary>What one run left behind.</summary>
    public sealed record Result(int ExitCode, byte[] StandardOutput, string StandardError);

    /// <param name="stdin">Written to standard input, which is then closed (null: closed at once).</param>
    /// <param name="environment">Variables to set (a null value removes the variable).</param>
    public static async Task<Result> RunAsync(IEnumerable<string> args, byte[]? stdin = null, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? limit = null)
    {
        using var process = Start(args, environment);
        using var timeout = new CancellationTokenSource(limit ?? TimeSpan.FromMinutes(1));
        try
        {
            var stdout = new MemoryStream();
            var reading = process.StandardOutput.BaseStream.CopyToAsync(stdout, timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            if (stdin is not null)
            {
                try
                {
                    await process.StandardInput.BaseStream.WriteAsync(stdin, timeout.Token);
                }
                catch (IOException)
                {
                    // The process stopped reading (it refused the command): its exit code says why.
                }
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(timeout.Token);
            await reading;
            return new Result(process.ExitCode, stdout.ToArray(), await stderr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ferry {string.Join(' ', args)} did not finish in time");
        }
    }

    /// <summary>Starts <c>ferry ARGS</c> with every stream redirected and left to the caller.</summary>
    public static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ferry.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                psi.Environment.Remove(name);
            }
            else
            {
                psi.Environment[name] = value;
            }
        }

        return Process.Start(psi)!;
    }
}
