using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ferry.Files;
using Ferry.Protocol.Tftp;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Tftp;

/// <summary>
/// tftp:// client (default port 69): RRQ downloads and WRQ uploads in octet mode, asking for blksize, windowsize
/// and timeout when given and always for tsize. TFTP carries no checksum of the whole file, so the SHA-256
/// reported is computed locally over exactly the bytes received or sent.
/// </summary>
public sealed class TftpClient : ITransferClient
{
    public const int DefaultPort = 69;

    private static readonly TimeSpan s_progressInterval = TimeSpan.FromMilliseconds(100);
    private readonly TimeProvider _time;

    public TftpClient(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
    }

    public string Scheme => "tftp";

    /// <summary>Refused: see the message.</summary>
    public Task<IReadOnlyList<Protocol.Listing.ListingEntry>> ListAsync(Uri remote, bool recursive, ClientOptions options, CancellationToken cancellationToken) =>
        throw new TransferException(ExitCode.Usage, "TFTP has no listing: tftp:// cannot list a directory (use udp:// or tcp://)");

    /// <summary>TFTP has no way to ask for part of a file: an interrupted transfer starts over.</summary>
    public bool ResumesAfterInterruption => false;

    public async Task<TransferResult> GetAsync(Uri remote, string localPath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        var (address, port, path) = await ResolveAsync(remote, cancellationToken).ConfigureAwait(false);
        var requestOptions = BuildOptions(options, transferSize: 0, path);
        DownloadDestination.CheckBeforeConnecting(localPath, options.Overwrite);

        var clock = new ShellClock(_time);
        var watch = Stopwatch.StartNew();
        using var socket = CreateSocket(address);
        using var target = new TftpDownloadTarget(localPath, options.Overwrite, _time.GetUtcNow().ToUnixTimeMilliseconds());
        var session = TftpReceiver.ForClient(target, path, requestOptions, TimeoutMicros(options), TftpSessionConfig.Client, clock.NowMicros);
        var runner = new TftpSessionRunner(socket, new IPEndPoint(address, port).Serialize(), clock, lockToAddress: address)
        {
            ConnectTimeoutMicros = (long)options.ConnectTimeout.TotalMicroseconds,
        };
        progress.Report(new TransferProgress(0, -1) { ConnectingTo = HostPort(remote) });
        byte[]? sha256 = null;
        var reporter = new ProgressThrottle(progress);
        await RunAsync(runner, session, (e, now) =>
        {
            switch (e.Kind)
            {
                case TftpEventKind.Negotiated:
                    target.Begin(session.Parameters.TransferSize);
                    break;
                case TftpEventKind.Completed:
                    sha256 = target.Complete();
                    break;
            }
        }, now => reporter.Report(session.BytesReceived, session.Parameters.TransferSize ?? -1, now), cancellationToken).ConfigureAwait(false);

        ThrowIfFailed(session, runner, remote, options);
        progress.Report(new TransferProgress(session.BytesReceived, session.BytesReceived));
        return Result(session, session.BytesReceived, watch.Elapsed, sha256!);
    }

    public async Task<TransferResult> SendAsync(string localPath, Uri remote, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        var (address, port, path) = await ResolveAsync(remote, cancellationToken).ConfigureAwait(false);
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        long length;
        try
        {
            handle = File.OpenHandle(localPath, FileMode.Open, FileAccess.Read, FileShare.Read);
            length = RandomAccess.GetLength(handle);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TransferException(ExitCode.LocalIo, $"cannot read '{localPath}': {ex.Message}", ex);
        }

        var requestOptions = BuildOptions(options, transferSize: length, path);
        var clock = new ShellClock(_time);
        var watch = Stopwatch.StartNew();
        using var hashing = new HashingFileSource(handle, length, ownsHandle: true);
        using var socket = CreateSocket(address);
        var session = TftpSender.ForClient(new HashingBlockSource(hashing), path, requestOptions, TimeoutMicros(options), TftpSessionConfig.Client, clock.NowMicros);
        var runner = new TftpSessionRunner(socket, new IPEndPoint(address, port).Serialize(), clock, lockToAddress: address)
        {
            ConnectTimeoutMicros = (long)options.ConnectTimeout.TotalMicroseconds,
        };
        progress.Report(new TransferProgress(0, -1) { ConnectingTo = HostPort(remote) });
        byte[]? sha256 = null;
        var reporter = new ProgressThrottle(progress);
        await RunAsync(runner, session, (e, now) =>
        {
            if (e.Kind == TftpEventKind.Completed)
            {
                sha256 = hashing.CompleteHash();
            }
        }, now => reporter.Report(session.BytesAcknowledged, length, now), cancellationToken).ConfigureAwait(false);

        ThrowIfFailed(session, runner, remote, options);
        progress.Report(new TransferProgress(length, length));
        return Result(session, length, watch.Elapsed, sha256!);
    }

    private static async Task RunAsync(TftpSessionRunner runner, TftpSession session, Action<TftpEvent, long> onEvent, Action<long> onProgress, CancellationToken cancellationToken)
    {
        // The runner blocks on its socket: give it a thread of its own rather than a pool thread.
        await Task.Factory.StartNew(() => runner.Run(session, onEvent, null, onProgress, cancellationToken),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
    }

    private static string HostPort(Uri remote) => Security.KnownHosts.HostPort(remote.Host, remote.IsDefaultPort || remote.Port < 0 ? DefaultPort : remote.Port);

    private static void ThrowIfFailed(TftpSession session, TftpSessionRunner runner, Uri remote, ClientOptions options)
    {
        if (runner.NoAnswer)
        {
            throw Failures.NoAnswer(HostPort(remote), options.ConnectTimeout);
        }

        if (runner.LocalError is { } local)
        {
            throw new TransferException(TftpErrorMapping.LocalExitCode(local), local.Message, local);
        }

        if (session.Failure is { } failure)
        {
            throw TftpErrorMapping.ToTransferException(failure, HostPort(remote));
        }
    }

    private static TransferResult Result(TftpSession session, long bytes, TimeSpan elapsed, byte[] sha256) =>
        new(bytes, elapsed, Convert.ToHexStringLower(sha256))
        {
            Stats = new Dictionary<string, long>
            {
                ["blksize"] = session.Parameters.BlockSize,
                ["windowsize"] = session.Parameters.WindowSize,
                ["data_retransmitted"] = session.Stats.DataRetransmitted,
                ["timeouts"] = session.Stats.Timeouts,
                ["duplicate_data"] = session.Stats.DuplicateData,
                ["duplicate_acks"] = session.Stats.DuplicateAcks,
            },
        };

    private static IReadOnlyList<TftpOption> BuildOptions(ClientOptions options, long transferSize, string path)
    {
        if (options.BlockSize is int b && (b < TftpLimits.MinBlockSize || b > TftpLimits.MaxBlockSize))
        {
            throw new TransferException(ExitCode.Usage, $"--blksize {b} is outside {TftpLimits.MinBlockSize}..{TftpLimits.MaxBlockSize} (RFC 2348)");
        }

        if (options.WindowSize is int w && (w < 1 || w > TftpLimits.MaxWindowSize))
        {
            throw new TransferException(ExitCode.Usage, $"--windowsize {w} is outside 1..{TftpLimits.MaxWindowSize} (RFC 7440)");
        }

        int? timeoutSeconds = null;
        if (options.Timeout is TimeSpan t)
        {
            if (t <= TimeSpan.Zero)
            {
                throw new TransferException(ExitCode.Usage, "--timeout must be positive");
            }

            // The option is whole seconds (RFC 2349: 1..255); the local timer keeps the exact value.
            timeoutSeconds = (int)Math.Clamp(Math.Ceiling(t.TotalSeconds), TftpLimits.MinTimeoutSeconds, TftpLimits.MaxTimeoutSeconds);
        }

        var list = TftpNegotiation.ClientOptions(options.BlockSize, options.WindowSize, timeoutSeconds, transferSize);
        if (System.Text.Encoding.UTF8.GetByteCount(path) > TftpLimits.MaxRequestLength - 128)
        {
            throw new TransferException(ExitCode.Usage, $"remote path is too long for a TFTP request ({path.Length} characters)");
        }

        return list;
    }

    private static long TimeoutMicros(ClientOptions options) =>
        options.Timeout is TimeSpan t ? Math.Max(1, t.Ticks / TimeSpan.TicksPerMicrosecond) : TftpLimits.DefaultTimeoutMicros;

    private static async Task<(IPAddress Address, int Port, string Path)> ResolveAsync(Uri remote, CancellationToken cancellationToken)
    {
        string path = TransferClients.RemotePath(remote);
        int port = remote.IsDefaultPort || remote.Port < 0 ? DefaultPort : remote.Port;
        string host = remote.DnsSafeHost;
        if (!IPAddress.TryParse(host, out var address))
        {
            IPAddress[] addresses;
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new TransferException(ExitCode.Usage, $"cannot resolve host '{host}': {e.SocketErrorCode}", e);
            }

            address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new TransferException(ExitCode.Usage, $"'{host}' has no address");
        }

        return (address, port, path);
    }

    private static Socket CreateSocket(IPAddress server)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // A window of blocks arrives as one burst: give the kernel room to queue it (it caps at rmem_max).
            socket.ReceiveBufferSize = 4 << 20;
            socket.SendBufferSize = 1 << 20;
            socket.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reports progress at most every 100 ms.</summary>
    private sealed class ProgressThrottle
    {
        private readonly IProgress<TransferProgress> _progress;
        private long _last;
        private bool _reported;

        public ProgressThrottle(IProgress<TransferProgress> progress)
        {
            _progress = progress;
        }

        public void Report(long bytes, long total, long nowMicros)
        {
            // The first report goes out at once (the bar learns the size as soon as it is known).
            if (!_reported || nowMicros - _last >= s_progressInterval.Ticks / TimeSpan.TicksPerMicrosecond)
            {
                _reported = true;
                _last = nowMicros;
                _progress.Report(new TransferProgress(bytes, total));
            }
        }
    }
}
