using Ferry.Transfers;
using Spectre.Console;

namespace Ferry.Cli.Output;

/// <summary>
/// The live progress bar on an interactive terminal. Kept apart from <see cref="ProgressReporter"/> so that
/// Spectre.Console (its assembly, its console detection) is only loaded when a bar may actually be drawn, not
/// before the first packet of every --json or redirected run.
/// </summary>
internal static class TerminalProgress
{
    /// <summary>True when Spectre.Console sees an interactive terminal.</summary>
    public static bool IsInteractive => AnsiConsole.Profile.Capabilities.Interactive;

    public static async Task<TransferResult> RunAsync(string description, Func<IProgress<TransferProgress>, Task<TransferResult>> transfer)
    {
        TransferResult? result = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn(),
                new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: 1);
                task.IsIndeterminate = true;
                string named = Markup.Escape(description);
                var sink = new InlineProgress(p =>
                {
                    task.Description = p.ConnectingTo is { } to ? Markup.Escape($"connecting to {to}…") : named;
                    if (p.TotalBytes >= 0)
                    {
                        task.IsIndeterminate = false;
                        task.MaxValue = Math.Max(1, p.TotalBytes);
                    }

                    task.Value = p.BytesDone;
                });
                result = await transfer(sink).ConfigureAwait(false);
                task.MaxValue = Math.Max(1, result.Bytes);
                task.Value = task.MaxValue;
            }).ConfigureAwait(false);
        return result!;
    }

    private sealed class InlineProgress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }
}
