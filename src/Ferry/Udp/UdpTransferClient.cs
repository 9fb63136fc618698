using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ferry.Files;
using Ferry.Protocol.Common;
using Ferry.Protocol.Listing;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;
using Ferry.Security;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Udp;

/// <summary>The udp:// client: one connection, one socket, one loop thread per transfer.</summary>
public sealed class UdpTransferClient : ITransferClient
{
    public const int DefaultPort = 7700;

    private readonly TimeProvider _time;

    /// <param name="time">The clock the transfer loops read; <see cref="TimeProvider.System"/> when null.</param>
    public UdpTransferClient(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
    }

    public string Scheme => "udp";

    public Task<TransferResult> GetAsync(Uri remote, string localPath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        ValidateOptions(options);
        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        string path = TransferClients.RemotePath(remote);
        DownloadDestination.CheckBeforeConnecting(localPath, options.Overwrite);

        return Start(new Session(Resolve(remote), remote.Host, _time, options, progress, cancellationToken), s => s.RunGet(path, localPath), cancellationToken);
    }

    public Task<IReadOnlyList<ListingEntry>> ListAsync(Uri remote, bool recursive, ClientOptions options, CancellationToken cancellationToken)
    {
        ValidateOptions(options);
        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        string path = TransferClients.ListPath(remote);
        var progress = new Progress<TransferProgress>();
        return RemoteListing.FetchAsync(local => Start(
            new Session(Resolve(remote), remote.Host, _time, options, progress, cancellationToken), s => s.RunGet(path, local, TransferOp.List, recursive ? 1 : 0), cancellationToken));
    }

    public Task<TransferResult> SendAsync(string localPath, Uri remote, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        ValidateOptions(options);
        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        string path = TransferClients.RemotePath(remote);
        return Start(new Session(Resolve(remote), remote.Host, _time, options, progress, cancellationToken), s => s.RunSend(localPath, path), cancellationToken);
    }

    /// <summary>Moves a job's many files in one connection (JOB_PUT, JOB_GET); see <see cref="UdpJobCarrier"/>.</summary>
    public Jobs.IJobCarrier? JobCarrier => new UdpJobCarrier(_time);

    /// <summary>Runs one job connection (<see cref="UdpJobCarrier"/>) on its own loop thread.</summary>
    internal static Task<TransferResult> RunJobAsync(
        RemoteUrl server, TimeProvider time, TransferOp op, int entries, ClientOptions options, IUdpJobDriver driver, CancellationToken cancellationToken)
    {
        ValidateOptions(options);
        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        return Start(new Session(Resolve(server), server.Host, time, options, new Progress<TransferProgress>(), cancellationToken), s => s.RunJob(op, entries, driver), cancellationToken);
    }

    public Task MakeDirectoryAsync(RemoteUrl remote, int mode, long mtimeUnixMs, ClientOptions options, CancellationToken cancellationToken)
    {
        ValidateOptions(options);
        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        string path = TransferClients.RemotePath(remote);
        return Start(new Session(Resolve(remote), remote.Host, _time, options, new Progress<TransferProgress>(), cancellationToken), s => s.RunMakeDirectory(path, mode, mtimeUnixMs), cancellationToken);
    }

    /// <summary>Downloads <paramref name="remotePath"/> exactly as given (no URL normalisation; tests send hostile paths).</summary>
    public static Task<TransferResult> GetRawAsync(IPEndPoint server, string remotePath, string localPath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken) =>
        Start(new Session(server, server.Address.ToString(), TimeProvider.System, options, progress, cancellationToken), s => s.RunGet(remotePath, localPath), cancellationToken);

    /// <summary>Uploads to <paramref name="remotePath"/> exactly as given.</summary>
    public static Task<TransferResult> SendRawAsync(IPEndPoint server, string localPath, string remotePath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken) =>
        Start(new Session(server, server.Address.ToString(), TimeProvider.System, options, progress, cancellationToken), s => s.RunSend(localPath, remotePath), cancellationToken);

    private static Task<TransferResult> Start(Session session, Func<Session, TransferResult> run, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => run(session), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static void ValidateOptions(ClientOptions options)
    {
        if (options.CongestionControl is { } cc && cc is not ("bbr" or "newreno"))
        {
            throw new TransferException(ExitCode.Usage, $"--cc '{cc}' is not a congestion controller (bbr, newreno)");
        }

        if (options.MaxDatagram is int md && (md < Packet.MinMaxDatagram || md > Packet.MaxMaxDatagram))
        {
            throw new TransferException(ExitCode.Usage, $"--max-datagram must be between {Packet.MinMaxDatagram} and {Packet.MaxMaxDatagram}");
        }

        if (options.Timeout is { } t && t <= TimeSpan.Zero)
        {
            throw new TransferException(ExitCode.Usage, "--timeout must be positive");
        }
    }

    internal static IPEndPoint Resolve(Uri remote)
    {
        int port = remote.IsDefaultPort || remote.Port <= 0 ? DefaultPort : remote.Port;
        string host = remote.Host.Trim('[', ']');
        if (IPAddress.TryParse(host, out var ip))
        {
            return new IPEndPoint(ip, port);
        }

        try
        {
            var addresses = Dns.GetHostAddresses(host);
            var pick = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.First();
            return new IPEndPoint(pick, port);
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException)
        {
            throw new TransferException(ExitCode.Usage, $"cannot resolve host '{host}': {e.Message}");
        }
    }

    /// <summary>One transfer's loop. Runs on its own thread; everything here is single-threaded.</summary>
    /// <remarks>
    /// ReadyToRun: crossgen2 will not precompile a method that passes a <see cref="PeerAddress"/> (it holds a UInt128,
    /// whose calling convention it treats as unstable), or a type with one inside such as <see cref="Connection"/>,
    /// by value as a parameter; such a method is JIT-compiled at every start instead. So this class keeps no
    /// PeerAddress field, holds the connection in a field rather than passing it around, and compares addresses
    /// through <see cref="SocketAddressCodec.Same"/> (by reference).
    /// </remarks>
    private sealed class Session
    {
        private readonly IPEndPoint _server;
        private readonly string _host;
        private readonly ClientOptions _options;
        private readonly IProgress<TransferProgress> _progress;
        private readonly CancellationToken _ct;
        private readonly ShellClock _clock;
        private readonly Stopwatch _elapsed = Stopwatch.StartNew();
        private long _gsoSends;
        private long _gsoSegments;
        private TransferException? _keyFailure;
        private Connection? _connection;

        public Session(IPEndPoint server, string host, TimeProvider time, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken ct)
        {
            _clock = new ShellClock(time);
            _server = server;
            _host = host;
            _options = options;
            _progress = progress;
            _ct = ct;
        }

        private string HostPort => KnownHosts.HostPort(_host, _server.Port);

        /// <summary>One --verbose line about this transfer.</summary>
        private void Say(string what) => _options.Verbose?.Invoke($"udp: {what}");

        private void SayOpening(string what) => Say($"{what} at {HostPort} ({_server}), protocol version {Packet.Version}, " +
            (_options.Insecure ? "cleartext (--insecure)" : "encrypted"));

        /// <summary>The --verbose summary: round trip, loss, and where the loop's time went.</summary>
        private void SaySummary(Connection c, long waitedMicros, long loopMicros)
        {
            var s = c.Stats;
            double loss = s.PacketsSent == 0 ? 0 : 100.0 * s.PacketsLost / s.PacketsSent;
            Say($"rtt {c.SmoothedRtt / 1000.0:0.###} ms (min {c.MinRtt / 1000.0:0.###} ms); {s.PacketsLost} of {s.PacketsSent} packets lost ({loss:0.##}%), " +
                $"{s.DataBytesRetransmitted} bytes sent again, {s.ProbeTimeouts} probe timeouts, {s.PacketsReceived} packets received " +
                $"({s.DuplicatePackets} duplicates, {s.EarlyDataDropped} before the file was open); congestion window {c.CongestionWindow} bytes, " +
                $"pacing {c.PacingRate * 8 / 1e6:0.#} Mbit/s at the end; the loop spent {100.0 * waitedMicros / Math.Max(1, loopMicros):0}% of " +
                $"{loopMicros / 1e6:0.##} s waiting for datagrams or its pacer, the rest sending, receiving and on the file" +
                (c.RateLimit > 0 ? $"; rate limit {RateLimits.Format(c.RateLimit)}{(c.RateLimitConfirmed ? " (from the server)" : string.Empty)}" : string.Empty));
        }

        private ConnectionConfig Config() => new()
        {
            MaxDatagram = _options.MaxDatagram ?? Packet.DefaultMaxDatagram,
            IdleTimeout = (long)((_options.Timeout ?? TimeSpan.FromSeconds(30)).TotalMilliseconds * 1000),
            CongestionControl = _options.CongestionControl ?? "bbr",
            Security = new UdpSecurity { Insecure = _options.Insecure },
        };

        /// <param name="op">GET, or LIST (whose listing arrives as the file's bytes).</param>
        /// <param name="flags">LIST: the listing flags (bit 0: recursive).</param>
        public TransferResult RunGet(string remotePath, string localPath, TransferOp op = TransferOp.Get, long flags = 0)
        {
            SayOpening($"{(op == TransferOp.List ? "list" : "get")} '{remotePath}'");
            PartialFile? partial = null;
            byte[]? sha = null;
            TransferException? failure = null;
            var config = Config();
            var connection = _connection = Connection.CreateClient(
                config, NewId(), op, remotePath, flags, 0, null, _clock.NowMicros, ClientSecurity.Token(_options), rateLimit: op == TransferOp.Get ? _options.LimitRate : null);

            // Opens the destination for the size and identity ACCEPT announced; null (and a failure) when it cannot.
            (IDataSink Sink, RangeSet? Have)? Open(ConnectionEvent accepted)
            {
                try
                {
                    if (op == TransferOp.List)
                    {
                        RemoteListing.CheckSize(accepted.Size);
                    }

                    partial = PartialFile.ForDownload(localPath, accepted.Size, new FileIdentity(accepted.Size, accepted.IdentityMtime), _options.Overwrite);
                    return (new PartialFileSink(partial, _clock), partial.Received);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    failure = new TransferException(ExitCode.LocalIo, $"cannot write '{localPath}': {e.Message}");
                    return null;
                }
                catch (TransferException e)
                {
                    failure = e;
                    return null;
                }
            }

            // Nothing to resume: ask for the data with the REQUEST and open the file inside ACCEPT's handling, which
            // saves the round trip of ACCEPT -> HAVE. With a journal, the ranges it lists depend on the identity only
            // ACCEPT tells, so the HAVE waits for it.
            bool eager = !PartialFile.HasDownloadJournal(localPath);
            if (eager)
            {
                connection.ReceiveOnAccept(Open);
            }

            try
            {
                RunUnlessDone(() => partial is { IsCommitted: true }, ev =>
                {
                    if (ev.Kind == ConnectionEventKind.Accepted && op == TransferOp.Get && _options.LimitRate > 0 && !connection.RateLimitConfirmed)
                    {
                        _options.Notice?.Invoke($"warning: {HostPort} does not take rate limits (an older server): this download is not limited");
                    }

                    switch (ev.Kind)
                    {
                        case ConnectionEventKind.Accepted when !eager:
                            if (Open(ev) is { } target)
                            {
                                connection.StartReceiving(target.Sink, target.Have);
                            }
                            else
                            {
                                connection.Close(TransferError.Cancelled, "client cannot write the destination", _clock.NowMicros);
                            }

                            break;
                        case ConnectionEventKind.DataComplete:
                            try
                            {
                                partial!.Commit(ev.Sha256);
                                sha = ev.Sha256;
                                connection.FinishReceiveAndClose(TransferError.None, "verified", _clock.NowMicros);
                            }
                            catch (FileEngineException e) when (e.Code == FileErrorCode.Integrity)
                            {
                                failure = new TransferException(ExitCode.Integrity, $"integrity check failed for '{localPath}': {e.Message}");
                                connection.FinishReceiveAndClose(TransferError.Integrity, e.Message, _clock.NowMicros);
                            }
                            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                            {
                                failure = new TransferException(ExitCode.LocalIo, $"cannot store '{localPath}': {e.Message}");
                                connection.FinishReceiveAndClose(TransferError.Io, e.Message, _clock.NowMicros);
                            }

                            break;
                        case ConnectionEventKind.Closed:
                            if (failure is null && (sha is null || ev.Code != TransferError.None))
                            {
                                // A server from before LIST closes with a protocol violation naming the unknown operation.
                                failure = op == TransferOp.List && ev.ByPeer && ev.Code == TransferError.ProtocolViolation && connection.State != ConnectionState.Established
                                        && ev.Message.Contains("unknown operation", StringComparison.Ordinal)
                                    ? RemoteListing.Unsupported()
                                    : Describe(ev, remotePath);
                            }

                            return true;
                    }

                    return false;
                });
            }
            finally
            {
                if (partial is not null && !partial.IsCommitted)
                {
                    // Interrupted or failed: keep what arrived (journaled) so the same command resumes.
                    partial.Abort(keepForResume: failure?.Code != ExitCode.Integrity);
                }

                partial?.Dispose();
            }

            if (failure is not null)
            {
                throw failure;
            }

            return Result(sha!);
        }

        public TransferResult RunSend(string localPath, string remotePath)
        {
            SafeFileHandleSource source;
            try
            {
                source = SafeFileHandleSource.Open(localPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new TransferException(ExitCode.LocalIo, $"cannot read '{localPath}': {e.Message}");
            }

            using var _ = source;
            SayOpening($"send '{remotePath}' ({source.Length} bytes)");
            _connection = Connection.CreateClient(
                Config(), NewId(), TransferOp.Put, remotePath, source.Length, source.MtimeUnixMs, source.Data, _clock.NowMicros, ClientSecurity.Token(_options), _options.UploadKey, source.Mode,
                _options.LimitRate);
            return RunUpload(remotePath);
        }

        /// <summary>MKDIR: on the wire an upload of an empty file, whose commit on the server creates the directory.</summary>
        public TransferResult RunMakeDirectory(string remotePath, int mode, long mtimeUnixMs)
        {
            if (mode is < 0 or > FrameCodec.MaxFileMode)
            {
                throw new TransferException(ExitCode.Usage, $"directory mode {mode} is outside 0..0777");
            }

            SayOpening($"mkdir '{remotePath}'");
            _connection = Connection.CreateClient(
                Config(), NewId(), TransferOp.MakeDirectory, remotePath, 0, mtimeUnixMs, new MemoryDataSource([]), _clock.NowMicros, ClientSecurity.Token(_options), fileMode: mode);
            return RunUpload(remotePath, makeDirectory: true);
        }

        /// <summary>A job: the driver writes the manifest, acts on the connection's events and pumps its work each loop.</summary>
        public TransferResult RunJob(TransferOp op, int entries, IUdpJobDriver driver)
        {
            SayOpening($"job of {entries} entries ({(op == TransferOp.JobPut ? "upload" : "download")})");
            var connection = _connection = Connection.CreateJobClient(
                Config(), NewId(), op, entries, _clock.NowMicros, ClientSecurity.Token(_options), _options.UploadKey, _options.LimitRate);
            driver.Start(connection);
            try
            {
                RunUnlessDone(() => driver.Succeeded, ev => driver.OnEvent(connection, ev, _clock.NowMicros), () => driver.Pump(connection, _clock.NowMicros));
            }
            finally
            {
                Say($"job: {connection.Size} bytes in the job, {connection.ResumedBytes} already at the receiver, {connection.Stats.DataBytesSent} data bytes sent " +
                    $"({connection.Stats.DataBytesRetransmitted} again), {connection.Stats.DataBytesReceived} received ({connection.Stats.DuplicateDataBytes} duplicate)");
            }

            return new TransferResult(connection.Size, _elapsed.Elapsed, string.Empty) { ResumedBytes = connection.ResumedBytes };
        }

        private TransferResult RunUpload(string remotePath, bool makeDirectory = false)
        {
            byte[]? sha = null;
            TransferException? failure = null;
            var connection = _connection!;
            RunUnlessDone(() => sha is not null, ev =>
            {
                switch (ev.Kind)
                {
                    case ConnectionEventKind.ResultReceived when ev.Code == TransferError.None:
                        sha = ev.Sha256;
                        break;
                    case ConnectionEventKind.ResultReceived:
                        failure = Describe(ev, remotePath);
                        break;
                    case ConnectionEventKind.Closed:
                        if (failure is null && sha is null)
                        {
                            // A server from before MKDIR closes with a protocol violation naming the unknown operation.
                            failure = makeDirectory && ev.ByPeer && ev.Code == TransferError.ProtocolViolation && connection.State != ConnectionState.Established
                                    && ev.Message.Contains("unknown operation", StringComparison.Ordinal)
                                ? Failures.MakeDirectoryUnsupported()
                                : Describe(ev, remotePath);
                        }

                        return true;
                }

                return false;
            });
            if (failure is not null)
            {
                throw failure;
            }

            return Result(sha!);
        }

        private TransferResult Result(byte[] sha)
        {
            var c = _connection!;
            var stats = new Dictionary<string, long>
            {
                ["packets_sent"] = c.Stats.PacketsSent,
                ["packets_received"] = c.Stats.PacketsReceived,
                ["data_bytes_sent"] = c.Stats.DataBytesSent,
                ["data_bytes_retransmitted"] = c.Stats.DataBytesRetransmitted,
                ["packets_lost"] = c.Stats.PacketsLost,
                ["srtt_us"] = c.SmoothedRtt,
                ["gso_sends"] = _gsoSends,
                ["gso_segments"] = _gsoSegments,
                ["probe_timeouts"] = c.Stats.ProbeTimeouts,
            };
            if (c.RateLimit > 0)
            {
                // The limit in force at the end (bit/s): the client's own, or the server's cap.
                stats["rate_limit"] = c.RateLimit;
            }

            return new(c.Size, _elapsed.Elapsed, Convert.ToHexStringLower(sha)) { ResumedBytes = c.ResumedBytes, Stats = stats };
        }

        private TransferException Describe(ConnectionEvent ev, string remotePath) => ev.Code switch
        {
            // A server that answered and then went silent (it died, or the path broke): transient, the same command resumes.
            TransferError.IdleTimeout when _connection!.Stats.PacketsReceived == 0 => Failures.NoAnswer(HostPort, TimeSpan.FromMicroseconds(Config().IdleTimeout)),
            TransferError.IdleTimeout => new TransferException(ExitCode.Timeout, $"{HostPort}: {ev.Message}; {Failures.ResumeHint}"),
            TransferError.None => new TransferException(ExitCode.Failure, "the server closed the connection before the transfer finished"),
            // Refused here before anything was sent (a path too long for one Initial): a usage error, not the server's word.
            TransferError.InvalidPath when !ev.ByPeer && _connection!.Stats.PacketsSent == 0 => new TransferException(ExitCode.Usage, ev.Message),
            _ => Failures.FromServer(UdpErrors.FromWire(ev.Code), ev.Message),
        };

        /// <summary>
        /// Runs the loop; a Ctrl+C that arrives after the transfer already succeeded (the download verified and
        /// renamed, or the upload confirmed) does not turn that success into an interruption.
        /// </summary>
        private void RunUnlessDone(Func<bool> succeeded, Func<ConnectionEvent, bool> onEvent, Action? pump = null)
        {
            try
            {
                Run(ev => ev.Kind == ConnectionEventKind.ServerKeyReceived ? OnServerKey(ev) : onEvent(ev), pump);
            }
            catch (OperationCanceledException) when (succeeded())
            {
            }

            if (_keyFailure is not null)
            {
                throw _keyFailure;
            }
        }

        /// <summary>The server proved it holds a key: go on only if it is the pinned one (or pin it on first use).</summary>
        private bool OnServerKey(ConnectionEvent ev)
        {
            var connection = _connection!;
            try
            {
                ClientSecurity.VerifyServerKey(_options, _host, _server.Port, ev.ServerKey);
                connection.ConfirmServerKey();
            }
            catch (TransferException e)
            {
                _keyFailure = e;
                connection.Close(TransferError.HandshakeFailed, "the client does not trust the server's key", _clock.NowMicros);
            }

            return false;
        }

        /// <summary>The loop: receive, feed, act on events, send, wait. Ends when <paramref name="onEvent"/> says so.</summary>
        /// <param name="pump">Called once per turn of the loop before sending (a job's work from other threads); with it the loop waits at most 0.5 ms.</param>
        private void Run(Func<ConnectionEvent, bool> onEvent, Action? pump = null)
        {
            var connection = _connection!;
            using var channel = new UdpChannel(
                UdpChannel.Bind(_server.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0),
                Math.Max(connection.MaxDatagram, Packet.MinInitialSize) + 64);
            var serverPeer = SocketAddressCodec.FromEndPoint(_server);

            long lastProgress = 0;
            long loopStart = _clock.NowMicros;
            long waited = 0;
            bool handshakeSaid = false;
            bool finished = false;
            bool cancelled = false;
            bool noAnswer = false;
            long connectDeadline = _clock.NowMicros + (long)(_options.ConnectTimeout.TotalMilliseconds * 1000);
            while (true)
            {
                long now = _clock.NowMicros;
                if (_ct.IsCancellationRequested && !cancelled && !finished)
                {
                    cancelled = true;
                    connection.Close(TransferError.Cancelled, "cancelled by the user", now);
                }

                int received = channel.ReceiveBatch();
                for (int i = 0; i < received; i++)
                {
                    var datagram = channel.Received(i, out var from);
                    if (!SocketAddressCodec.Same(in from, in serverPeer))
                    {
                        continue;
                    }

                    if (Packet.TryParse(datagram, out var packet) == PacketError.None && packet.DestinationId == connection.LocalId)
                    {
                        connection.HandlePacket(now, packet);
                    }
                }

                if (connection.NextTimeout <= now)
                {
                    connection.HandleTimeout(now);
                }

                while (connection.TryPollEvent(out var ev))
                {
                    finished |= onEvent(ev);
                }

                // Not one datagram from the server since the first Initial: nothing is answering there. (A server that
                // answered and then went silent is the connection's idle timeout, --timeout.)
                if (!finished && connection.Stats.PacketsReceived == 0 && now >= connectDeadline)
                {
                    noAnswer = true;
                    break;
                }

                if (!handshakeSaid && connection.State != ConnectionState.Handshake)
                {
                    handshakeSaid = true;
                    Say($"handshake done in {(now - loopStart) / 1000.0:0.#} ms");
                }

                if (!finished && pump is not null && connection.State is not (ConnectionState.Closing or ConnectionState.Closed))
                {
                    pump();
                }

                // Events may have taken a while (checking the server's key, opening the file): stamp what goes out
                // with the time it leaves, or its round trip would include that and read as a queue on the path.
                now = _clock.NowMicros;
                int length;
                while ((length = connection.PollTransmit(now, channel.NextSendBuffer())) > 0)
                {
                    channel.Commit(length, serverPeer);
                }

                channel.Flush();
                if (now - lastProgress > 100_000)
                {
                    lastProgress = now;
                    bool connecting = connection.State == ConnectionState.Handshake;
                    _progress.Report(new TransferProgress(connection.BytesDone, connecting ? -1 : connection.Size, connection.ResumedBytes) { ConnectingTo = connecting ? HostPort : null });
                }

                if (finished || cancelled)
                {
                    break;
                }

                if (channel.LastBatchWasFull)
                {
                    continue;
                }

                long wait = Math.Min(connection.NextTimeout - _clock.NowMicros, pump is null ? 100_000 : 500);
                if (wait > 0)
                {
                    long before = _clock.NowMicros;
                    channel.WaitReadable(wait);
                    waited += _clock.NowMicros - before;
                }
            }

            _gsoSends = channel.GsoSends;
            _gsoSegments = channel.GsoSegments;
            if (_options.Verbose is not null)
            {
                SaySummary(connection, waited, _clock.NowMicros - loopStart);
            }

            if (noAnswer)
            {
                throw Failures.NoAnswer(HostPort, _options.ConnectTimeout);
            }

            if (cancelled)
            {
                throw new OperationCanceledException(_ct);
            }
        }

        private static ulong NewId()
        {
            ulong id;
            do
            {
                id = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
            }
            while (id == 0);
            return id;
        }
    }
}
