using System.Diagnostics;
using System.Text.RegularExpressions;
using Ferry.Tcp;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Xunit.Abstractions;

namespace Ferry.Tests.Tcp;

/// <summary>
/// The real <c>ferry serve</c> process, signalled mid-transfer (SIGTERM, SIGINT as Ctrl+C sends it): it closes every
/// connection and exits promptly, leaves no file under a final name, and a restarted server resumes the transfer.
/// The client runs in the test, held mid-transfer so the signal certainly lands while data is moving.
/// </summary>
public sealed partial class TcpServerProcessTests(ITestOutputHelper output)
{
    private const int SigInt = 2;
    private const int SigTerm = 15;

    /// <summary>The server's block size (ferry serve has no option for it): 4 MiB.</summary>
    private const int Block = 4 << 20;

    // The target is "within 2 s"; the bound is generous because this machine is shared, and the measured time
    // is printed.
    private static readonly TimeSpan s_stopBound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Upload_ServerSigterm_ClosesEverythingPromptly_NoFinalFile_ThenResumes()
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Local, "src.bin");
        long size = (10L * Block) + 4321;
        var data = TcpTestEnv.WriteRandom(src, size, seed: 41);
        string final = Path.Combine(env.Root, "up", "f.bin");

        using (var server = await StartServeAsync(env))
        {
            // Three items cross, then every stream waits: the server has some blocks, not all.
            var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            int items = 0;
            var hooks = new TcpTestHooks
            {
                BeforeSendItem = async (stream, item, ct) =>
                {
                    if (Interlocked.Increment(ref items) > 3)
                    {
                        held.TrySetResult();
                        await Task.Delay(Timeout.Infinite, ct);
                    }

                    return true;
                },
            };
            var acked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var progress = TcpTestEnv.Progress(p =>
            {
                if (p.BytesDone >= 3L * Block)
                {
                    acked.TrySetResult();
                }
            });
            var upload = TcpTestEnv.Client(hooks).SendAsync(src, server.Url("up/f.bin"), TcpTestEnv.Options(3), progress, default);
            await Task.WhenAll(held.Task, acked.Task).WaitAsync(TcpTestEnv.Bound);

            var (exitCode, failure) = await SignalAndWaitAsync(server, SigTerm, upload);

            Assert.Equal(0, exitCode);
            Assert.Equal(ExitCode.Timeout, Assert.IsType<TransferException>(failure).Code);
            Assert.False(File.Exists(final), "a half-written file appeared under its final name");
            Assert.All(
                Directory.GetFiles(env.Root, "*", SearchOption.AllDirectories),
                f => Assert.StartsWith(".", Path.GetFileName(f)));   // only reserved (hidden) temp names
        }

        using (var again = await StartServeAsync(env))
        {
            var result = await TcpTestEnv.Client().SendAsync(src, again.Url("up/f.bin"), TcpTestEnv.Options(3), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

            Assert.Equal(data, await File.ReadAllBytesAsync(final));
            Assert.True(result.ResumedBytes >= 3L * Block, $"resumed only {result.ResumedBytes} bytes");
            Assert.Equal(size - result.ResumedBytes, result.Stats["bytes_sent"]);
        }
    }

    [Fact]
    public async Task Download_ServerCtrlC_ClosesEverythingPromptly_NoFinalFile_ThenResumes()
    {
        await using var env = new TcpTestEnv();
        long size = (10L * Block) + 1234;
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), size, seed: 42);
        string dest = Path.Combine(env.Local, "f.bin");

        using (var server = await StartServeAsync(env))
        {
            // Once 3 blocks are written, the receiving streams stop reading (progress runs inline on them): the
            // server's senders are then blocked on full sockets, mid-block, when the signal arrives.
            using var gate = new ManualResetEventSlim();
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var progress = TcpTestEnv.Progress(p =>
            {
                if (p.BytesDone >= 3L * Block && p.BytesDone < size)
                {
                    reached.TrySetResult();
                    gate.Wait(TcpTestEnv.Bound);
                }
            });
            var download = TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(3), progress, default);
            await reached.Task.WaitAsync(TcpTestEnv.Bound);

            var (exitCode, failure) = await SignalAndWaitAsync(server, SigInt, download, release: gate.Set);

            Assert.Equal(0, exitCode);
            Assert.Equal(ExitCode.Timeout, Assert.IsType<TransferException>(failure).Code);
            Assert.False(File.Exists(dest), "a half-written file appeared under its final name");
            Assert.NotEmpty(Directory.GetFiles(env.Local, "*.ferry-part"));
        }

        using (var again = await StartServeAsync(env))
        {
            var result = await TcpTestEnv.Client().GetAsync(again.Url("f.bin"), dest, TcpTestEnv.Options(3), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

            Assert.Equal(data, await File.ReadAllBytesAsync(dest));
            Assert.True(result.ResumedBytes >= 3L * Block, $"resumed only {result.ResumedBytes} bytes");
            Assert.Equal(size - result.ResumedBytes, result.Stats["bytes_received"]);
            Assert.Empty(Directory.GetFiles(env.Local, "*.ferry-*"));
        }
    }

    /// <summary>
    /// Signals the server, waits (bounded) for it to exit, then for the client transfer to fail; prints both times.
    /// <paramref name="release"/> runs once the server is gone (a client held by the test may then notice).
    /// </summary>
    private async Task<(int ExitCode, Exception? Failure)> SignalAndWaitAsync(
        ServeProcess server, int signal, Task<TransferResult> transfer, Action? release = null)
    {
        var clock = Stopwatch.StartNew();
        server.Process.Signal(signal);
        int exitCode = await server.Process.WaitExitAsync(s_stopBound);
        var exited = clock.Elapsed;
        release?.Invoke();
        Exception? failure = null;
        try
        {
            await transfer.WaitAsync(s_stopBound);
        }
        catch (Exception e) when (e is not TimeoutException)
        {
            failure = e;
        }

        output.WriteLine($"signal {signal}: server exited (code {exitCode}) after {exited.TotalMilliseconds:F0} ms, client transfer ended after {clock.Elapsed.TotalMilliseconds:F0} ms");
        return (exitCode, failure);
    }

    private static async Task<ServeProcess> StartServeAsync(TcpTestEnv env)
    {
        var process = new FerryProcess(
            "serve", "--root", env.Root, "--state-dir", env.State, "--bind", "127.0.0.1",
            "--tcp-port", "0", "--port", "-1", "--zmq-port", "-1", "--relay-port", "-1");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TcpTestEnv.Bound)
        {
            if (ListeningLine().Match(process.StandardError) is { Success: true } m)
            {
                return new ServeProcess(process, int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }

            // FerryProcess collects stderr asynchronously; poll it (bounded by the deadline above).
            await Task.Delay(20);
        }

        string stderr = process.StandardError;
        process.Dispose();
        throw new TimeoutException($"ferry serve did not report its tcp port: {stderr}");
    }

    [GeneratedRegex(@"tcp\s+listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();

    private sealed class ServeProcess(FerryProcess process, int port) : IDisposable
    {
        public FerryProcess Process { get; } = process;

        public Uri Url(string path) => new($"tcp://127.0.0.1:{port}/{path}");

        public void Dispose() => Process.Dispose();
    }
}
