using System.Diagnostics;
using System.Globalization;
using Ferry.Transfers;

namespace Ferry.Cli.Output;

/// <summary>How a transfer reports itself: a live bar on a terminal, NDJSON with --json, one summary line otherwise.</summary>
internal sealed class ProgressReporter
{
    private static readonly TimeSpan s_jsonInterval = TimeSpan.FromMilliseconds(250);
    private readonly bool _json;
    private readonly bool _quiet;
    private readonly Func<TextWriter> _output;
    private readonly object _writeLock = new();
    private TextWriter? _out;
    private (string What, string Url)? _pendingStart;
    private bool _holding;
    private List<Dictionary<string, object?>>? _held;
    private volatile bool _bar;
    private long _lastDone;
    private long _lastTotal = -1;
    private volatile bool _connected;

    /// <param name="output">
    /// Where to print, asked for at the first line printed: setting up Console.Out takes ~5 ms, which a transfer
    /// should not spend before its first packet.
    /// </param>
    public ProgressReporter(bool json, bool quiet, Func<TextWriter> output)
    {
        _json = json;
        _quiet = quiet;
        _output = output;
    }

    /// <summary>Runs <paramref name="transfer"/> with progress display and returns its result.</summary>
    /// <param name="url">The remote URL, for the "start" event.</param>
    /// <remarks>Not async: it hands back the transfer's own task (one state machine less to JIT-compile at start).</remarks>
    public Task<TransferResult> RunAsync(string description, string url, Func<IProgress<TransferProgress>, Task<TransferResult>> transfer)
    {
        var inner = transfer;
        transfer = sink => inner(new Tracking(this, sink));
        if (_json)
        {
            // The "start" event goes out once the transfer is under way (its first packet is being sent on the
            // transfer's own thread): the console's and the JSON writer's first use cost ~8 ms. It is still the
            // first line: every other event writes it first if it is still pending.
            _pendingStart = (description, url);
            var sink = new JsonProgress(this);
            try
            {
                return transfer(sink);
            }
            finally
            {
                WriteJson(null);
            }
        }

        if (_quiet || !LiveBar || Console.IsOutputRedirected || !TerminalProgress.IsInteractive)
        {
            return transfer(NoProgress.Instance);
        }

        _bar = true;
        return TerminalProgress.RunAsync(description, transfer);
    }

    /// <summary>
    /// With --json: keep the "start" and "connecting" events of the next transfer back until it is under way (any other
    /// event), so that an attempt that turns out to be something else (a download of what is a directory, fetched as a
    /// tree instead) can be withdrawn with <see cref="WithdrawHeld"/> and print nothing.
    /// </summary>
    public void HoldStartUntilUnderWay()
    {
        lock (_writeLock)
        {
            _holding = true;
        }
    }

    /// <summary>Drops the events <see cref="HoldStartUntilUnderWay"/> kept back: the attempt they announced is abandoned.</summary>
    public void WithdrawHeld()
    {
        lock (_writeLock)
        {
            _pendingStart = null;
            _held = null;
            _holding = false;
        }
    }

    /// <summary>A message for the user while the transfer runs (a newly pinned server key): on stderr, never inside the bar's line.</summary>
    public void Notice(string message)
    {
        if (_bar)
        {
            TerminalProgress.WriteAbove($"ferry: {message}");
        }
        else
        {
            Console.Error.WriteLine($"ferry: {message}");
        }
    }

    /// <summary>False when the live bar must not be drawn (standard output carries the file).</summary>
    public bool LiveBar { get; init; } = true;

    public void Done(TransferResult result)
    {
        if (_json)
        {
            var fields = new Dictionary<string, object?>
            {
                ["event"] = "done",
                ["bytes"] = result.Bytes,
                ["seconds"] = Math.Round(result.Elapsed.TotalSeconds, 6),
                ["sha256"] = result.Sha256Hex,
                ["resumed_bytes"] = result.ResumedBytes,
            };
            foreach (var (k, v) in result.Stats)
            {
                fields[k] = v;
            }

            WriteJson(fields);
            return;
        }

        if (!_quiet)
        {
            _out ??= _output();
            _out.WriteLine(SummaryLine(result));
        }
    }

    public void Error(ExitCode code, string message)
    {
        if (_json)
        {
            WriteJson(new Dictionary<string, object?> { ["event"] = "error", ["exit_code"] = (int)code, ["kind"] = code.ToString().ToLowerInvariant(), ["message"] = message });
        }

        Console.Error.WriteLine($"ferry: {message}");
    }

    /// <summary>
    /// What to tell the user after Ctrl+C, from the last progress seen: nothing moved yet (nothing kept, whatever the
    /// scheme), every byte of an upload acknowledged (the server may have stored the file already: running the same
    /// command again would be refused as existing), or part of the data moved (kept for resume where the scheme can).
    /// </summary>
    public string InterruptedMessage(bool sending, bool resumable, string whyNoResume = "this protocol cannot resume")
    {
        long done = Interlocked.Read(ref _lastDone);
        long total = Interlocked.Read(ref _lastTotal);
        if (!_connected || done == 0)
        {
            return "interrupted before any data was transferred; nothing was kept";
        }

        if (sending && total > 0 && done >= total)
        {
            return "interrupted after the server received every byte but before it confirmed the file: it may have stored it " +
                "already (then the same command is refused because it exists; 'ferry get' it to check)";
        }

        return resumable
            ? "interrupted; partial data is kept, run the same command again to resume"
            : $"interrupted; nothing was kept ({whyNoResume}), run the same command again to start over";
    }

    /// <summary>
    /// "done: 200.0 MiB (209715200 bytes) in 2.10 s (812.0 Mbit/s), sha256 …": the rate counts only the bytes moved in
    /// this run, not a resumed prefix that was already there.
    /// </summary>
    public static string SummaryLine(TransferResult result)
    {
        string resumed = result.ResumedBytes > 0 ? $", {Units.Size(result.ResumedBytes)} resumed" : string.Empty;
        double rate = RateMeter.Average(result.Bytes, result.ResumedBytes, result.Elapsed);
        return string.Create(CultureInfo.InvariantCulture,
            $"done: {Units.Size(result.Bytes)} ({result.Bytes} bytes{resumed}) in {result.Elapsed.TotalSeconds:F2} s ({Units.Rate(rate)}), sha256 {result.Sha256Hex}");
    }

    /// <summary>Prints <paramref name="fields"/> as one NDJSON line, after the pending "start" event if there is one.</summary>
    private void WriteJson(Dictionary<string, object?>? fields)
    {
        lock (_writeLock)
        {
            if (_pendingStart is { } start)
            {
                _pendingStart = null;
                var startEvent = new Dictionary<string, object?> { ["event"] = "start", ["what"] = start.What, ["url"] = start.Url };
                if (_holding)
                {
                    (_held ??= new()).Add(startEvent);
                }
                else
                {
                    WriteJsonLocked(startEvent);
                }
            }

            if (_holding)
            {
                if (fields is null || (fields.TryGetValue("event", out var name) && name is "connecting"))
                {
                    if (fields is not null)
                    {
                        (_held ??= new()).Add(fields);
                    }

                    return;
                }

                // Under way (or ended): what was held goes out first, in order.
                _holding = false;
                foreach (var held in _held ?? [])
                {
                    WriteJsonLocked(held);
                }

                _held = null;
            }

            if (fields is not null)
            {
                WriteJsonLocked(fields);
            }
        }
    }

    private void WriteJsonLocked(Dictionary<string, object?> fields)
    {
        _out ??= _output();
        _out.WriteLine(JsonLine.Format(fields));
        _out.Flush();
    }

    /// <summary>Remembers the last report (for <see cref="InterruptedMessage"/>) and passes it on.</summary>
    private sealed class Tracking(ProgressReporter owner, IProgress<TransferProgress> inner) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            if (value.ConnectingTo is null)
            {
                owner._connected = true;
                Interlocked.Exchange(ref owner._lastTotal, value.TotalBytes);
                Interlocked.Exchange(ref owner._lastDone, value.BytesDone);
            }

            inner.Report(value);
        }
    }

    /// <summary>Drops every report (a <c>Progress&lt;T&gt;</c> would queue each one to the thread pool to do nothing).</summary>
    private sealed class NoProgress : IProgress<TransferProgress>
    {
        public static readonly NoProgress Instance = new();

        public void Report(TransferProgress value)
        {
        }
    }

    /// <summary>Rate-limits progress events to at most four a second; says once that it is connecting.</summary>
    private sealed class JsonProgress(ProgressReporter owner) : IProgress<TransferProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _last = -s_jsonInterval;
        private int _connecting;

        public void Report(TransferProgress value)
        {
            if (value.ConnectingTo is { } to)
            {
                if (Interlocked.Exchange(ref _connecting, 1) == 0)
                {
                    owner.WriteJson(new Dictionary<string, object?> { ["event"] = "connecting", ["to"] = to });
                }

                return;
            }

            var now = _clock.Elapsed;
            lock (this)
            {
                if (now - _last < s_jsonInterval)
                {
                    return;
                }

                _last = now;
            }

            double seconds = Math.Max(now.TotalSeconds, 1e-9);
            owner.WriteJson(new Dictionary<string, object?>
            {
                ["event"] = "progress",
                ["bytes"] = value.BytesDone,
                ["total"] = value.TotalBytes,
                ["seconds"] = Math.Round(seconds, 3),
                ["rate_bps"] = (long)(RateMeter.Average(value.BytesDone, value.ResumedBytes, now) * 8),
            });
        }
    }
}
