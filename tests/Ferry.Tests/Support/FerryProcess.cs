using System.Diagnostics;
using System.Text.Json;

namespace Ferry.Tests.Support;

/// <summary>Runs the real <c>ferry</c> executable (ferry.dll, copied next to the tests) and reads its NDJSON events.</summary>
internal sealed class FerryProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<JsonElement> _events = new();
    private readonly List<string> _lines = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Text.StringBuilder _stderr = new();

    public FerryProcess(params string[] args)
        : this(args, [])
    {
    }

    /// <summary>Runs <c>ferry ARGS</c> with <paramref name="environment"/> added to this process's environment.</summary>
    public FerryProcess(string[] args, params (string Name, string Value)[] environment)
    {
        _process = FerryCommand.Start(args, line =>
        {
            lock (_lines)
            {
                _lines.Add(line);
            }

            if (line.StartsWith('{'))
            {
                lock (_events)
                {
                    _events.Add(JsonDocument.Parse(line).RootElement.Clone());
                }
            }
        }, _stderr, _exited, environment);
    }

    public int Pid => _process.Id;

    public bool HasExited => _exited.Task.IsCompleted;

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

    /// <summary>Every line printed on stdout so far (JSON or not).</summary>
    public IReadOnlyList<string> OutputLines
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToList();
            }
        }
    }

    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_events)
            {
                return _events.ToList();
            }
        }
    }

    /// <summary>Waits until an event matches (polling the collected output; bounded).</summary>
    public async Task<JsonElement> WaitForEventAsync(Func<JsonElement, bool> match, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline && !_exited.Task.IsCompleted)
        {
            var hit = Events.FirstOrDefault(e => match(e));
            if (hit.ValueKind != JsonValueKind.Undefined)
            {
                return hit;
            }

            await Task.WhenAny(_exited.Task, Task.Delay(20));
        }

        var last = Events.FirstOrDefault(e => match(e));
        return last.ValueKind != JsonValueKind.Undefined ? last : throw new TimeoutException($"no matching event; stderr: {StandardError}");
    }

    public async Task<int> WaitExitAsync(TimeSpan limit)
    {
        await _exited.Task.WaitAsync(limit);
        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    public void Signal(int signal) => _ = Kill(_process.Id, signal);

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
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
