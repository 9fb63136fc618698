using System.Diagnostics;
using System.Globalization;
using Ferry.Jobs;

namespace Ferry.Cli.Output;

/// <summary>
/// How a job of many files reports itself: one live bar for the whole job on a terminal (files done/total, bytes,
/// rate, ETA, the current file), NDJSON with --json (start, progress at most 4/s, one file event per file, done), or a
/// summary line. Warnings and failed files go to stderr as they happen (except with --json, where failures are
/// file events and only warnings go to stderr).
/// </summary>
internal sealed class JobReporter : IJobReport
{
    private static readonly TimeSpan s_jsonInterval = TimeSpan.FromMilliseconds(250);
    private readonly bool _json;
    private readonly bool _quiet;
    private readonly string _what;
    private readonly string _url;
    private readonly object _lock = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastJson = -s_jsonInterval;
    private JobProgress _latest;
    private volatile bool _bar;
    private volatile bool _started;
    private JobSummary? _summary;

    public JobReporter(bool json, bool quiet, string what, string url)
    {
        _json = json;
        _quiet = quiet;
        _what = what;
        _url = url;
    }

    /// <summary>
    /// Runs <paramref name="job"/> under the live bar when standard output is a terminal, otherwise as it is; the summary
    /// line comes after it (below the bar's last state).
    /// </summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> job)
    {
        T result;
        if (_json || _quiet || Console.IsOutputRedirected || !TerminalProgress.IsInteractive)
        {
            result = await job().ConfigureAwait(false);
        }
        else
        {
            _bar = true;
            try
            {
                result = await TerminalProgress.RunJobAsync(View, job).ConfigureAwait(false);
            }
            finally
            {
                _bar = false;
            }
        }

        if (_summary is { } summary && !_json && !_quiet)
        {
            Console.Out.WriteLine(SummaryLine(summary));
        }

        return result;
    }

    /// <summary>A line for the user on stderr, above the bar if one is drawn.</summary>
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

    public void Warning(string message) => Notice($"warning: {message}");

    public void Start(int filesTotal, long bytesTotal)
    {
        lock (_lock)
        {
            _latest = new JobProgress(0, filesTotal, 0, bytesTotal, 0, null);
        }

        _started = true;

        if (_json)
        {
            Write([new("event", "start"), new("what", _what), new("url", _url), new("files_total", filesTotal), new("bytes_total", bytesTotal)]);
        }
    }

    public void Progress(JobProgress progress)
    {
        var now = _clock.Elapsed;
        lock (_lock)
        {
            _latest = progress;
            if (!_json || now - _lastJson < s_jsonInterval)
            {
                return;
            }

            _lastJson = now;
        }

        double seconds = Math.Max(now.TotalSeconds, 1e-9);
        Write(
        [
            new("event", "progress"), new("files_done", progress.FilesDone), new("files_total", progress.FilesTotal),
            new("bytes", progress.Bytes), new("bytes_total", progress.BytesTotal), new("seconds", Math.Round(seconds, 3)),
            new("rate_bps", (long)(RateMeter.Average(progress.Bytes, progress.ResumedBytes, now) * 8)),
        ]);
    }

    public void File(JobFileEvent file)
    {
        if (_json)
        {
            var fields = new List<KeyValuePair<string, object?>>
            {
                new("event", "file"), new("path", file.Path), new("status", Status(file.Status)), new("bytes", file.Bytes),
            };
            if (file.IsDirectory)
            {
                fields.Add(new("type", "directory"));
            }

            if (file.Sha256 is { Length: > 0 } sha)
            {
                fields.Add(new("sha256", sha));
            }

            if (file.Error is { } error)
            {
                fields.Add(new("error", error));
            }

            Write(fields);
            return;
        }

        if (file.Status == JobFileStatus.Failed)
        {
            Notice($"failed: {ChatFormatter.Sanitize(file.Path)}: {file.Error}");
        }
    }

    public void Done(JobSummary summary)
    {
        if (_json)
        {
            Write(
            [
                new("event", "done"), new("files", summary.Files), new("done", summary.Done), new("skipped", summary.Skipped),
                new("failed", summary.Failed), new("warnings", summary.Warnings), new("bytes", summary.Bytes),
                new("skipped_bytes", summary.SkippedBytes), new("resumed_bytes", summary.ResumedBytes),
                new("seconds", Math.Round(summary.Elapsed.TotalSeconds, 6)),
            ]);
            return;
        }

        _summary = summary;
    }

    /// <summary>"done: 12 files (10 sent, 2 already complete), 4.0 MiB in 1.20 s (28.0 Mbit/s)", with failures and warnings counted.</summary>
    public static string SummaryLine(JobSummary s)
    {
        var parts = new List<string>();
        if (s.Skipped > 0)
        {
            parts.Add($"{s.Skipped} already complete");
        }

        if (s.Failed > 0)
        {
            parts.Add($"{s.Failed} failed");
        }

        if (s.Warnings > 0)
        {
            parts.Add($"{s.Warnings} skipped with a warning");
        }

        string details = parts.Count == 0 ? string.Empty : ", " + string.Join(", ", parts);
        double rate = RateMeter.Average(s.Bytes, s.ResumedBytes, s.Elapsed);
        return string.Create(CultureInfo.InvariantCulture,
            $"{(s.Failed > 0 ? "partial" : "done")}: {s.Done} of {s.Files} files transferred{details}; {Units.Size(s.Bytes)} in {s.Elapsed.TotalSeconds:F2} s ({Units.Rate(rate)})");
    }

    /// <summary>What the bar shows now: the current file as the name, files done/total beside the percentage.</summary>
    private ProgressView View(TimeSpan at, RateMeter meter)
    {
        JobProgress p;
        lock (_lock)
        {
            p = _latest;
        }

        meter.Add(at, p.Bytes, p.ResumedBytes);
        string counter = string.Create(CultureInfo.InvariantCulture, $"{p.FilesDone}/{p.FilesTotal} files");
        return new ProgressView(p.Current ?? _what, p.Bytes, p.BytesTotal, meter.BytesPerSecond, at, _started ? null : "starting…", counter);
    }

    private static string Status(JobFileStatus status) => status switch
    {
        JobFileStatus.Done => "done",
        JobFileStatus.Skipped => "skipped",
        _ => "failed",
    };

    private void Write(IEnumerable<KeyValuePair<string, object?>> fields)
    {
        string line = JsonLine.Format(fields);
        lock (_lock)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
