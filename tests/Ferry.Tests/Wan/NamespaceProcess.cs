using System.Diagnostics;
using System.Text;

namespace Ferry.Tests.Wan;

/// <summary>A process run inside a network namespace (<c>ip netns exec</c>), with its output collected.</summary>
internal sealed class NamespaceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Seen)> _waiters = new();

    public NamespaceProcess(string ip, string netns, string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(ip)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "netns", "exec", netns, program }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        _process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Exited += (_, _) => _exited.TrySetResult();
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Waits (bounded) until an output line matches.</summary>
    public async Task WaitForLineAsync(Func<string, bool> match, TimeSpan limit)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.ToString().Split('\n').Any(match))
            {
                return;
            }

            _waiters.Add((match, seen));
        }

        var first = await Task.WhenAny(seen.Task, _exited.Task, Task.Delay(limit));
        if (first != seen.Task)
        {
            throw new TimeoutException($"no matching line ({(first == _exited.Task ? "process exited" : "timed out")}); output:\n{Output}");
        }
    }

    public async Task<int> WaitExitAsync(TimeSpan limit)
    {
        await _exited.Task.WaitAsync(limit);
        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var w in _waiters.Where(w => w.Match(line)).ToList())
            {
                w.Seen.TrySetResult();
                _waiters.Remove(w);
            }
        }
    }
}
