using Ferry.Cli.Output;
using Ferry.Transfers;
using Xunit;

namespace Ferry.Tests.Cli;

/// <summary>--json: the "start" event is written once the transfer has begun, but always as the first line.</summary>
public sealed class ProgressReporterTests
{
    private static readonly TransferResult s_result = new(1, TimeSpan.FromSeconds(1), "00");

    [Fact]
    public async Task StartComesBeforeAProgressEventReportedWhileTheTransferStarts()
    {
        var output = new StringWriter();
        var reporter = new ProgressReporter(json: true, quiet: false, () => output);
        var result = await reporter.RunAsync("send a.bin", "udp://h/a#1", p =>
        {
            p.Report(new TransferProgress(0, -1));
            return Task.FromResult(s_result);
        });
        reporter.Done(result);
        var lines = Lines(output);
        Assert.Equal(3, lines.Length);
        Assert.Equal("""{"event":"start","what":"send a.bin","url":"udp://h/a#1"}""", lines[0]);
        Assert.StartsWith("""{"event":"progress","bytes":0,"total":-1,""", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("""{"event":"done","bytes":1,""", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartIsWrittenWhenTheTransferReportsNothing()
    {
        var output = new StringWriter();
        var reporter = new ProgressReporter(json: true, quiet: false, () => output);
        var running = new TaskCompletionSource<TransferResult>();
        var task = reporter.RunAsync("get x", "udp://h/x", _ => running.Task);
        Assert.Equal(["""{"event":"start","what":"get x","url":"udp://h/x"}"""], Lines(output));
        running.SetResult(s_result);
        reporter.Done(await task);
        Assert.Equal(2, Lines(output).Length);
    }

    [Fact]
    public async Task StartPrecedesTheErrorOfATransferThatFailsAtOnce()
    {
        var output = new StringWriter();
        var reporter = new ProgressReporter(json: true, quiet: false, () => output);
        var failure = new TransferException(ExitCode.Usage, "bad option");
        Assert.Same(failure, await Assert.ThrowsAsync<TransferException>(() => reporter.RunAsync("send a.bin", "udp://h/a#1", _ => throw failure)));
        reporter.Error(failure.Code, failure.Message);
        var lines = Lines(output);
        Assert.Equal(2, lines.Length);
        Assert.Equal("""{"event":"start","what":"send a.bin","url":"udp://h/a#1"}""", lines[0]);
        Assert.StartsWith("""{"event":"error","exit_code":""", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeldStartAndConnecting_AreWithdrawn_WhenTheAttemptIsAbandoned_AndPrintedOnceItIsUnderWay()
    {
        var output = new StringWriter();
        var reporter = new ProgressReporter(json: true, quiet: false, () => output);
        reporter.HoldStartUntilUnderWay();
        var notAFile = new TransferException(ExitCode.Refused, "a directory");
        await Assert.ThrowsAsync<TransferException>(() => reporter.RunAsync("get d", "udp://h/d", p =>
        {
            p.Report(new TransferProgress(0, -1) { ConnectingTo = "h:7700" });
            return Task.FromException<TransferResult>(notAFile);
        }));
        reporter.WithdrawHeld();
        Assert.Empty(Lines(output));

        reporter.HoldStartUntilUnderWay();
        var result = await reporter.RunAsync("get f", "udp://h/f", p =>
        {
            p.Report(new TransferProgress(0, -1) { ConnectingTo = "h:7700" });
            Assert.Empty(Lines(output));
            p.Report(new TransferProgress(10, 20));
            return Task.FromResult(s_result);
        });
        reporter.Done(result);
        var lines = Lines(output);
        Assert.Equal(4, lines.Length);
        Assert.Equal("""{"event":"start","what":"get f","url":"udp://h/f"}""", lines[0]);
        Assert.Equal("""{"event":"connecting","to":"h:7700"}""", lines[1]);
        Assert.StartsWith("""{"event":"progress","bytes":10,""", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void NothingIsPrintedBeforeTheFirstLine()
    {
        bool asked = false;
        var reporter = new ProgressReporter(json: false, quiet: true, () =>
        {
            asked = true;
            return TextWriter.Null;
        });
        _ = reporter.RunAsync("send a.bin", "udp://h/a#1", _ => Task.FromResult(s_result));
        Assert.False(asked);
    }

    private static string[] Lines(StringWriter output) =>
        output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
}
