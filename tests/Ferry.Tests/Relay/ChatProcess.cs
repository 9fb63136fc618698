using System.Diagnostics;

using Ferry.Tests.Support;

namespace Ferry.Tests.Relay;

/// <summary>
/// Runs the real <c>ferry chat</c> (ferry.dll next to the tests) with stdin, stdout and stderr redirected; collects every
/// stdout line. Waits are bounded and event-driven (a line arrives, the process exits), never fixed sleeps.
/// </summary>
internal sealed class ChatProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = new();
    private readonly System.Text.StringBuilder _stderr = new();
    private readonly SemaphoreSlim _lineArrived = new(0);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ChatProcess(params string[] args)
    {
        _process = FerryCommand.Start(["chat", .. args], line =>
        {
            lock (_lines)
            {
                _lines.Add(line);
            }

            _lineArrived.Release();
        }, _stderr, _exited);
    }

    public StreamWriter StandardInput => _process.StandardInput;

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToList();
            }
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> stdout lines arrived; returns them.</summary>
    public async Task<IReadOnlyList<string>> WaitForLinesAsync(int count, TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        while (Lines.Count < count)
        {
            if (_exited.Task.IsCompleted)
            {
                _process.WaitForExit();
                if (Lines.Count >= count)
                {
                    break;
                }

                throw new InvalidOperationException($"ferry chat exited with {_process.ExitCode} after {Lines.Count} of {count} lines; stderr: {StandardError}");
            }

            await Task.WhenAny(_lineArrived.WaitAsync(cts.Token), _exited.Task);
            if (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"{Lines.Count} of {count} lines within {limit}; stderr: {StandardError}");
            }
        }

        return Lines;
    }

    public async Task<int> WaitExitAsync(TimeSpan limit)
    {
        try
        {
            await _exited.Task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"ferry chat still running after {limit}; stderr: {StandardError}");
        }

        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    /// <summary>Sends SIGINT, as Ctrl+C would.</summary>
    public void Interrupt() => _ = Kill(_process.Id, 2);

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        _lineArrived.Dispose();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
