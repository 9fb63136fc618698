using System.Diagnostics;
using Ferry.Transfers;
using Spectre.Console;

namespace Ferry.Cli.Output;

/// <summary>
/// The live progress line on an interactive terminal: redrawn in place ten times a second from the latest report,
/// laid out by <see cref="ProgressLine"/> for the terminal's width at each redraw (so a resized window is followed).
/// Kept apart from <see cref="ProgressReporter"/> so that Spectre.Console (its assembly, its console detection) is
/// only loaded when a bar may actually be drawn, not before the first packet of every --json or redirected run.
/// </summary>
internal static class TerminalProgress
{
    private static readonly TimeSpan s_redraw = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_rateWindow = TimeSpan.FromSeconds(5);
    private static readonly object s_drawLock = new();
    private static bool s_lineShown;

    /// <summary>True when Spectre.Console sees an interactive terminal.</summary>
    public static bool IsInteractive => AnsiConsole.Profile.Capabilities.Interactive;

    public static async Task<TransferResult> RunAsync(string description, Func<IProgress<TransferProgress>, Task<TransferResult>> transfer)
    {
        var clock = Stopwatch.StartNew();
        var sink = new LatestProgress();
        var meter = new RateMeter(s_rateWindow);
        meter.Add(TimeSpan.Zero, 0, 0);
        using var stop = new CancellationTokenSource();
        var drawing = DrawAsync(description, sink, meter, clock, stop.Token);
        try
        {
            var result = await transfer(sink).ConfigureAwait(false);
            await StopAsync(stop, drawing).ConfigureAwait(false);
            double rate = RateMeter.Average(result.Bytes, result.ResumedBytes, result.Elapsed);
            Draw(new ProgressView(description, result.Bytes, result.Bytes, rate, clock.Elapsed));
            return result;
        }
        catch
        {
            await StopAsync(stop, drawing).ConfigureAwait(false);
            throw;
        }
        finally
        {
            // The summary or the error goes on a line of its own.
            lock (s_drawLock)
            {
                Console.Out.WriteLine();
                Console.Out.Flush();
                s_lineShown = false;
            }
        }
    }

    /// <summary>
    /// Runs a job of many files under one live bar: <paramref name="view"/> gives what to draw at a time (with the rate
    /// of this run), redrawn ten times a second; the last view is drawn once more at the end.
    /// </summary>
    public static async Task<T> RunJobAsync<T>(Func<TimeSpan, RateMeter, ProgressView> view, Func<Task<T>> job)
    {
        var clock = Stopwatch.StartNew();
        var meter = new RateMeter(s_rateWindow);
        meter.Add(TimeSpan.Zero, 0, 0);
        using var stop = new CancellationTokenSource();
        var drawing = DrawJobAsync(view, meter, clock, stop.Token);
        try
        {
            var result = await job().ConfigureAwait(false);
            await StopAsync(stop, drawing).ConfigureAwait(false);
            Draw(view(clock.Elapsed, meter));
            return result;
        }
        catch
        {
            await StopAsync(stop, drawing).ConfigureAwait(false);
            throw;
        }
        finally
        {
            lock (s_drawLock)
            {
                if (s_lineShown)
                {
                    Console.Out.WriteLine();
                    Console.Out.Flush();
                }

                s_lineShown = false;
            }
        }
    }

    private static async Task DrawJobAsync(Func<TimeSpan, RateMeter, ProgressView> view, RateMeter meter, Stopwatch clock, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(s_redraw);
        try
        {
            do
            {
                Draw(view(clock.Elapsed, meter));
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Prints <paramref name="message"/> on stderr on a line of its own; the bar is redrawn below it at the next tick.</summary>
    public static void WriteAbove(string message)
    {
        lock (s_drawLock)
        {
            if (s_lineShown)
            {
                Console.Out.Write("\r" + new string(' ', Math.Max(1, TerminalWidth() - 1)) + "\r");
                Console.Out.Flush();
                s_lineShown = false;
            }

            Console.Error.WriteLine(message);
        }
    }

    private static async Task StopAsync(CancellationTokenSource stop, Task drawing)
    {
        await stop.CancelAsync().ConfigureAwait(false);
        await drawing.ConfigureAwait(false);
    }

    private static async Task DrawAsync(string description, LatestProgress sink, RateMeter meter, Stopwatch clock, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(s_redraw);
        try
        {
            do
            {
                var at = clock.Elapsed;
                var p = sink.Latest;
                meter.Add(at, p.BytesDone, p.ResumedBytes);
                Draw(new ProgressView(description, p.BytesDone, p.TotalBytes, meter.BytesPerSecond, at,
                    p.ConnectingTo is { } to ? $"connecting to {to}…" : null));
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Rewrites the current line. One column is left free: writing into the last column makes some terminals wrap
    /// at once. Padding to the width clears what a longer previous line left, without any escape sequence.
    /// </summary>
    private static void Draw(ProgressView view)
    {
        int width = Math.Max(1, TerminalWidth() - 1);
        string line = ProgressLine.Render(width, view);
        lock (s_drawLock)
        {
            Console.Out.Write("\r" + line + new string(' ', Math.Max(0, width - ProgressLine.DisplayWidth(line))));
            Console.Out.Flush();
            s_lineShown = true;
        }
    }

    private static int TerminalWidth()
    {
        try
        {
            int w = Console.WindowWidth;
            return w > 0 ? w : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }

    /// <summary>Keeps only the latest report; the redraw loop reads it (reports come from the transfer's own thread).</summary>
    private sealed class LatestProgress : IProgress<TransferProgress>
    {
        private readonly object _lock = new();
        private TransferProgress _latest = new(0, -1);

        public TransferProgress Latest
        {
            get
            {
                lock (_lock)
                {
                    return _latest;
                }
            }
        }

        public void Report(TransferProgress value)
        {
            lock (_lock)
            {
                _latest = value;
            }
        }
    }
}
