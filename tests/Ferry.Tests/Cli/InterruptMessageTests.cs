using System.Net;
using System.Net.Sockets;
using Ferry.Cli.Output;
using Ferry.Tests.Files;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Ferry.Udp;

namespace Ferry.Tests.Cli;

/// <summary>What ferry says after Ctrl+C or a vanished server must be true.</summary>
public sealed class InterruptMessageTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public async Task NothingTransferredSaysNothingWasKept(bool sending, bool resumable)
    {
        var reporter = new ProgressReporter(json: true, quiet: false, () => TextWriter.Null);
        await reporter.RunAsync("x", "udp://h/x", p =>
        {
            p.Report(new TransferProgress(0, -1) { ConnectingTo = "127.0.0.1:1" });
            p.Report(new TransferProgress(0, 100));
            return Task.FromResult(new TransferResult(0, TimeSpan.Zero, ""));
        });
        string message = reporter.InterruptedMessage(sending, resumable);
        Assert.DoesNotContain("partial data is kept", message);
        Assert.Contains("nothing was kept", message);
    }

    [Fact]
    public async Task AnUploadWhoseEveryByteArrivedDoesNotSuggestARerun()
    {
        var reporter = new ProgressReporter(json: true, quiet: false, () => TextWriter.Null);
        await reporter.RunAsync("x", "udp://h/x", p =>
        {
            p.Report(new TransferProgress(100, 100));
            return Task.FromResult(new TransferResult(0, TimeSpan.Zero, ""));
        });
        string message = reporter.InterruptedMessage(sending: true, resumable: true);
        Assert.DoesNotContain("run the same command again", message);
        Assert.Contains("may have stored it already", message);

        // A download of every byte, or an upload of part of it: resume.
        Assert.Contains("partial data is kept, run the same command again to resume", reporter.InterruptedMessage(sending: false, resumable: true));
    }

    [Fact]
    public async Task PartOfTheDataSaysItIsKeptForResume()
    {
        var reporter = new ProgressReporter(json: false, quiet: true, () => TextWriter.Null);
        await reporter.RunAsync("x", "udp://h/x", p =>
        {
            p.Report(new TransferProgress(40, 100));
            return Task.FromResult(new TransferResult(0, TimeSpan.Zero, ""));
        });
        Assert.Equal("interrupted; partial data is kept, run the same command again to resume", reporter.InterruptedMessage(sending: true, resumable: true));
    }

    /// <summary>The real executable, Ctrl+C while it waits for a server that never answers.</summary>
    [Fact]
    public async Task CtrlCWhileConnectingSaysNothingWasKept()
    {
        using var dir = new TempDir();
        string src = dir.Combine("a.bin");
        File.WriteAllBytes(src, new byte[1000]);
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)silent.LocalEndPoint!).Port;
        using var ferry = new FerryProcess("send", src, $"udp://127.0.0.1:{port}/a.bin", "--json", "--insecure", "--connect-timeout", "50");
        await ferry.WaitForEventAsync(e => e.GetProperty("event").GetString() == "connecting", s_bound);
        ferry.Signal(2);
        Assert.Equal(130, await ferry.WaitExitAsync(s_bound));
        string message = ferry.Events.Single(e => e.GetProperty("event").GetString() == "error").GetProperty("message").GetString()!;
        Assert.Equal("interrupted before any data was transferred; nothing was kept", message);
    }

    /// <summary>A udp:// server that vanishes mid-download (no CLOSE): the idle timeout says how to resume, as tcp:// does.</summary>
    [Fact]
    public async Task AServerThatDiedMidTransferGetsTheResumeHint()
    {
        await using var server = new UdpServerFixture();
        File.WriteAllBytes(Path.Combine(server.Root, "big.bin"), new byte[64 << 20]);
        var tap = new UdpTap(server.EndPoint);
        int port = tap.Port;
        int cut = 0;
        var progress = new Inline(p =>
        {
            if (p.BytesDone > 0 && Interlocked.Exchange(ref cut, 1) == 0)
            {
                tap.DisposeAsync().AsTask().GetAwaiter().GetResult(); // from now on nothing comes back
            }
        });
        var options = new ClientOptions { KnownHosts = new Ferry.Security.KnownHosts(server.Local("known_hosts")), Timeout = TimeSpan.FromSeconds(1) };
        var e = await Assert.ThrowsAsync<TransferException>(() => new UdpTransferClient()
            .GetAsync(new Uri($"udp://127.0.0.1:{port}/big.bin"), server.Local("big.bin"), options, progress, CancellationToken.None).WaitAsync(s_bound));
        Assert.Equal(ExitCode.Timeout, e.Code);
        Assert.EndsWith("partial data is kept, run the same command again to resume", e.Message);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
    }

    private sealed class Inline(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }
}
