using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Ferry.Files;
using Ferry.Hosting;
using Ferry.Protocol.Tcp;
using Ferry.Security;
using Ferry.Transfers;

namespace Ferry.Tcp;

/// <summary>
/// The tcp:// server: accepts control and data connections on one port, gives every new connection a handshake
/// deadline (a slow or silent peer is dropped without holding anything up), opens sessions through the shared
/// file engine and routes data connections to them by session id. Stopping closes every connection within
/// a bounded time; an unfinished upload keeps its temp file and journal for resume. A connection whose first byte
/// starts a TLS record is encrypted with the server's key before anything else is read; OPEN is checked against
/// the server's access policy.
/// </summary>
public sealed class TcpTransferListener : IProtocolListener
{
    // SOL_SOCKET / SO_REUSEADDR on Linux and on the BSDs (macOS).
    private const int SolSocketLinux = 1;
    private const int SoReuseAddrLinux = 2;
    private const int SolSocketBsd = 0xffff;
    private const int SoReuseAddrBsd = 4;
    private static readonly TimeSpan s_stopBudget = TimeSpan.FromSeconds(1.5);
    private readonly Socket _socket;
    private readonly ConcurrentDictionary<TcpConnection, Task> _connections = new();
    private readonly ConcurrentDictionary<TcpConnection, long> _handshaking = new();
    private readonly ConcurrentDictionary<TcpSessionId, TcpServerSession> _sessions = new();
    private readonly Dictionary<IPAddress, int> _handshakingPerAddress = new();
    private readonly Dictionary<IPAddress, int> _sessionsPerAddress = new();
    private readonly Dictionary<IPAddress, int> _jobsPerAddress = new();
    private int _jobs;
    private readonly TcpServerTls? _tls;
    private int _disposed;

    public TcpTransferListener(ServerContext context, int port)
        : this(context, port, new TcpListenerSettings())
    {
    }

    internal TcpTransferListener(ServerContext context, int port, TcpListenerSettings settings)
    {
        if (!TcpWire.IsValidBlockSize(settings.BlockSize))
        {
            throw new ArgumentOutOfRangeException(nameof(settings), "block size must be a power of two in [4 KiB, 64 MiB]");
        }

        Context = context;
        Settings = settings;
        _tls = context.Options.Identity is { } identity ? new TcpServerTls(identity) : null;
        var bind = context.Options.Bind;
        _socket = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (bind.AddressFamily == AddressFamily.InterNetworkV6)
            {
                // "::" serves IPv4 clients too.
                _socket.DualMode = true;
            }

            // A restarted server may bind while old connections sit in TIME_WAIT, but a second server must not share
            // the port: .NET's ReuseAddress also sets SO_REUSEPORT on Unix, so set SO_REUSEADDR alone.
            EnableReuseAddressOnly(_socket);
            _socket.Bind(new IPEndPoint(bind, port));
            _socket.Listen(512);
        }
        catch
        {
            _socket.Dispose();
            _tls?.Dispose();
            throw;
        }

        LocalEndPoint = _socket.LocalEndPoint!;
    }

    public string Name => "tcp";

    /// <summary>Sets SO_REUSEADDR without SO_REUSEPORT (Linux and macOS; elsewhere the socket keeps its defaults).</summary>
    internal static void EnableReuseAddressOnly(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(SolSocketLinux, SoReuseAddrLinux, BitConverter.GetBytes(1));
        }
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            socket.SetRawSocketOption(SolSocketBsd, SoReuseAddrBsd, BitConverter.GetBytes(1));
        }
    }

    public EndPoint LocalEndPoint { get; }

    internal ServerContext Context { get; }

    internal TcpListenerSettings Settings { get; }

    /// <summary>Totals over every session (tests assert on these).</summary>
    internal TcpTransferCounters Counters { get; } = new();

    /// <summary>Connections currently open (handshaking, control or data).</summary>
    internal int ConnectionCount => _connections.Count;

    internal int SessionCount => _sessions.Count;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var heartbeatCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeat = HeartbeatAsync(heartbeatCts.Token);
        try
        {
            while (true)
            {
                Socket accepted;
                try
                {
                    accepted = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException e) when (!cancellationToken.IsCancellationRequested && e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
                {
                    continue;   // the peer gave up before we accepted it
                }

                Accept(accepted, cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await heartbeatCts.CancelAsync().ConfigureAwait(false);
            await StopAsync().ConfigureAwait(false);
            try
            {
                await heartbeat.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
    }

    private void Accept(Socket socket, CancellationToken stopping)
    {
        var connection = new TcpConnection(socket, TcpConnectionKind.Control, isServer: true, Context.Clock);
        if (_handshaking.Count >= Settings.MaxHandshaking || !TryCountHandshake(connection, +1))
        {
            // A flood of half-open peers: refuse newcomers rather than let them queue up memory.
            connection.Abort();
            return;
        }

        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 10);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 6);
        }
        catch (SocketException)
        {
            // Keepalive is a safety net for dead peers only; serve the connection without it.
        }

        _handshaking[connection] = Context.Clock.NowMicros + (long)Settings.HandshakeTimeout.TotalMicroseconds;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = HandleAsync(connection, gate.Task, stopping);
        _connections[connection] = task;
        gate.SetResult();
    }

    private async Task HandleAsync(TcpConnection connection, Task registered, CancellationToken stopping)
    {
        await registered.ConfigureAwait(false);
        await Task.Yield();
        try
        {
            await HandleCoreAsync(connection, stopping).ConfigureAwait(false);
        }
        catch (TcpPeerException e) when (e.ConnectionLost || e.FromPeer)
        {
            if (e.FromPeer)
            {
                Context.Info("tcp", $"{connection.RemoteEndPoint}: peer reported {e.Code}: {e.Message}");
            }
        }
        catch (TcpPeerException e)
        {
            Context.Info("tcp", $"{connection.RemoteEndPoint}: {e.Message}");
            await connection.TrySendErrorAsync(e.Code, e.Message, TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
        }
        catch (AuthenticationException e)
        {
            // Not a TLS 1.3 client, or junk after a TLS record byte: there is no channel to send an ERROR on.
            Context.Info("tcp", $"{connection.RemoteEndPoint}: TLS handshake failed: {e.Message}");
        }
        catch (FileEngineException e)
        {
            // Logged by the transfer service, which opened the file.
            await connection.TrySendErrorAsync(TcpErrors.FromFile(e.Code), e.Message, TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await connection.TrySendErrorAsync(TcpErrors.ToWire(FailureKind.ServerShutdown), Failures.Describe(FailureKind.ServerShutdown), TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException)
        {
            // Closed by the watchdog or by shutdown while reading.
        }
        catch (Exception e)
        {
            Context.Info("tcp", $"{connection.RemoteEndPoint}: internal error: {e}");
            await connection.TrySendErrorAsync(TcpErrorCode.Internal, "internal server error", TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
        }
        finally
        {
            EndHandshake(connection);
            connection.Dispose();
            _connections.TryRemove(connection, out _);
        }
    }

    private async Task HandleCoreAsync(TcpConnection connection, CancellationToken stopping)
    {
        // Handshake: TLS (unless the client speaks cleartext), preamble, then OPEN or JOIN. The watchdog aborts the
        // socket if the deadline passes, whichever step it is in.
        if (await connection.PeekFirstByteAsync(stopping).ConfigureAwait(false) == TcpWire.TlsHandshakeRecord)
        {
            if (_tls is null)
            {
                // Sent in cleartext: the client's TLS layer hands these bytes back to it as the reason.
                throw new TcpPeerException(TcpErrorCode.EncryptionUnavailable, "this server has no key and serves only cleartext clients; connect with --insecure");
            }

            connection.UseTls(await _tls.AuthenticateAsync(connection.Socket, stopping).ConfigureAwait(false));

            // As on the client: SslStream writes whole records, and Nagle would stall small frames behind delayed ACKs.
            connection.Socket.NoDelay = true;
        }

        var preamble = new byte[TcpWire.PreambleLength];
        await connection.ReadExactlyAsync(preamble, stopping).ConfigureAwait(false);
        var status = TcpPreamble.TryRead(preamble, out var p);
        if (status != TcpDecodeStatus.Ok)
        {
            throw TcpPeerException.Violation(status, "preamble");
        }

        if (!connection.IsEncrypted && _tls is not null && !Context.Options.AllowInsecure)
        {
            throw new TcpPeerException(TcpErrorCode.EncryptionRequired, "this server requires encryption; drop --insecure");
        }

        connection.Kind = p.Kind;
        var (header, payload) = await connection.ReadFrameAsync(stopping).ConfigureAwait(false);
        try
        {
            EndHandshake(connection);
            if (p.Kind == TcpConnectionKind.Control)
            {
                if (header.Type != TcpFrameType.Open)
                {
                    throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where OPEN expected");
                }

                status = TcpOpenRequest.TryRead(payload.AsSpan(0, header.Length), out var open);
                if (status == TcpDecodeStatus.Ok && ((open.UploadKey is not null && Settings.Hooks?.RefuseUploadKey == true)
                    || (open.Operation is TcpOperation.JobPut or TcpOperation.JobGet && Settings.Hooks?.RefuseJobs == true)))
                {
                    status = TcpDecodeStatus.Malformed;
                }

                if (status != TcpDecodeStatus.Ok)
                {
                    throw TcpPeerException.Violation(status, "OPEN");
                }

                var request = new TransferRequest(Name, connection.RemoteEndPoint?.ToString() ?? "?", open.Operation switch
                {
                    TcpOperation.Get or TcpOperation.JobGet => TransferOperation.Get,
                    TcpOperation.List => TransferOperation.List,
                    TcpOperation.MakeDirectory => TransferOperation.MakeDirectory,
                    _ => TransferOperation.Put,
                }, open.Path, open.Token);
                // A job's token is checked per entry path once its manifest is in (the OPEN names no path).
                if (open.Operation is not (TcpOperation.JobPut or TcpOperation.JobGet) && Context.Transfers.Authorize(request) is { } refusal)
                {
                    // Logged by the transfer service.
                    await connection.TrySendErrorAsync(TcpErrorCode.Unauthorized, refusal, TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
                    return;
                }

                System.Buffers.ArrayPool<byte>.Shared.Return(payload);
                payload = [];
                connection.Socket.NoDelay = true;
                await RunSessionAsync(connection, open, request, stopping).ConfigureAwait(false);
            }
            else
            {
                if (header.Type != TcpFrameType.Join)
                {
                    throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where JOIN expected");
                }

                TcpSmallFrames.TryReadJoin(payload.AsSpan(0, header.Length), out var id, out uint stream);
                System.Buffers.ArrayPool<byte>.Shared.Return(payload);
                payload = [];
                if (!_sessions.TryGetValue(id, out var session))
                {
                    throw new TcpPeerException(TcpErrorCode.UnknownSession, "no such session (finished, expired or never opened)");
                }

                if (stream >= (uint)session.GrantedStreams)
                {
                    throw new TcpPeerException(TcpErrorCode.BadStream, $"stream index {stream} is not below the {session.GrantedStreams} granted");
                }

                var joined = new byte[TcpSmallFrames.JoinedFrameLength];
                TcpSmallFrames.WriteJoined(joined, stream);
                await connection.SendAsync(joined, stopping).ConfigureAwait(false);
                await session.RunStreamAsync(connection, (int)stream).ConfigureAwait(false);
            }
        }
        finally
        {
            if (payload.Length > 0)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(payload);
            }
        }
    }

    private async Task RunSessionAsync(TcpConnection control, TcpOpenRequest open, TransferRequest request, CancellationToken stopping)
    {
        if (_sessions.Count >= Settings.MaxSessions)
        {
            throw new TcpPeerException(TcpErrorCode.ServerBusy, $"too many sessions ({Settings.MaxSessions}); try again later");
        }

        // Each session may hold a file and a hashing thread: one address cannot take them all.
        var address = AddressOf(control);
        if (!Count(_sessionsPerAddress, address, +1, Settings.MaxSessionsPerAddress))
        {
            throw new TcpPeerException(TcpErrorCode.ServerBusy, $"too many sessions from {address} ({Settings.MaxSessionsPerAddress}); try again later");
        }

        bool job = open.Operation is TcpOperation.JobPut or TcpOperation.JobGet;
        if (job && !TakeJobSlot(address))
        {
            Count(_sessionsPerAddress, address, -1, int.MaxValue);
            throw new TcpPeerException(TcpErrorCode.ServerBusy,
                $"too many jobs of many files at once (at most {Settings.MaxJobs} on this server, {Settings.MaxJobsPerAddress} from one address); try again later");
        }

        try
        {
            var id = NewSessionId();
            var session = TcpServerSession.Create(this, control, open, request, id, stopping);
            _sessions[id] = session;
            try
            {
                await session.RunAsync().ConfigureAwait(false);
            }
            catch (TcpPeerException e) when (e.ConnectionLost)
            {
                Context.Info("tcp", $"session {id}: control connection lost; " + (open.Operation == TcpOperation.Put ? "received data kept for resume" : "stopped"));
                throw;
            }
            catch (TcpPeerException e) when (!e.FromPeer)
            {
                // Tell the client why while the session still exists: its data connections are already closing,
                // and a stream that reconnects after the session is gone would hear "no such session" and could
                // report that instead of the real cause.
                Context.Info("tcp", $"session {id}: {e.Message}");
                await control.TrySendErrorAsync(e.Code, e.Message, TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            }
            finally
            {
                _sessions.TryRemove(id, out _);
                session.Dispose();
            }
        }
        finally
        {
            Count(_sessionsPerAddress, address, -1, int.MaxValue);
            if (job)
            {
                Count(_jobsPerAddress, address, -1, int.MaxValue);
                Interlocked.Decrement(ref _jobs);
            }
        }
    }

    private bool TakeJobSlot(IPAddress address)
    {
        if (Interlocked.Increment(ref _jobs) > Settings.MaxJobs)
        {
            Interlocked.Decrement(ref _jobs);
            return false;
        }

        if (!Count(_jobsPerAddress, address, +1, Settings.MaxJobsPerAddress))
        {
            Interlocked.Decrement(ref _jobs);
            return false;
        }

        return true;
    }

    // Returns true when this call took the connection out of the handshaking set.
    private bool EndHandshake(TcpConnection connection)
    {
        if (!_handshaking.TryRemove(connection, out _))
        {
            return false;
        }

        TryCountHandshake(connection, -1);
        return true;
    }

    private bool TryCountHandshake(TcpConnection connection, int delta) =>
        Count(_handshakingPerAddress, AddressOf(connection), delta, Settings.MaxHandshakingPerAddress);

    private static IPAddress AddressOf(TcpConnection connection) => connection.RemoteEndPoint is IPEndPoint ip
        ? (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address)
        : IPAddress.None;

    // Adds delta to the address's count; refuses (false) an increase past limit.
    private static bool Count(Dictionary<IPAddress, int> counts, IPAddress address, int delta, int limit)
    {
        lock (counts)
        {
            counts.TryGetValue(address, out int n);
            if (delta > 0 && n >= limit)
            {
                return false;
            }

            n += delta;
            if (n <= 0)
            {
                counts.Remove(address);
            }
            else
            {
                counts[address] = n;
            }
        }

        return true;
    }

    private static TcpSessionId NewSessionId()
    {
        Span<byte> bytes = stackalloc byte[TcpWire.SessionIdLength];
        RandomNumberGenerator.Fill(bytes);
        return TcpSessionId.Read(bytes);
    }

    /// <summary>
    /// One timer for every deadline: handshakes that take too long and sessions that stopped moving are aborted.
    /// Cheaper than a timer per read, and the only place that needs the clock.
    /// </summary>
    private async Task HeartbeatAsync(CancellationToken ct)
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(Settings.HandshakeTimeout.TotalMilliseconds / 4, 50, 1000));
        using var timer = new PeriodicTimer(period, Context.Clock.Time);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            long now = Context.Clock.NowMicros;
            foreach (var (connection, deadline) in _handshaking)
            {
                if (now >= deadline && EndHandshake(connection))
                {
                    Context.Info("tcp", $"{connection.RemoteEndPoint}: handshake not completed within {Settings.HandshakeTimeout.TotalSeconds:F1} s; dropped");
                    _ = DropAsync(connection);
                }
            }

            long idle = (long)Settings.IdleTimeout.TotalMicroseconds;
            foreach (var session in _sessions.Values)
            {
                if (now - session.LastActivity > idle && !session.DataComplete)
                {
                    Context.Info("tcp", $"session {session.Id}: no progress for {Settings.IdleTimeout.TotalSeconds:F0} s; aborted");
                    session.Fail(new TcpPeerException(TcpErrorCode.IdleTimeout, $"no progress for {Settings.IdleTimeout.TotalSeconds:F0} s"));
                }
            }
        }
    }

    private static async Task DropAsync(TcpConnection connection)
    {
        await connection.TrySendErrorAsync(TcpErrorCode.HandshakeTimeout, "handshake not completed in time", TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
        connection.Abort();
    }

    private async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _socket.Dispose();

        // Sessions hear "shutting down" on their control connection (their handlers see the cancellation);
        // give them a moment, then cut whatever is left.
        var pending = _connections.Values.ToArray();
        var all = Task.WhenAll(pending);
        await Task.WhenAny(all, Task.Delay(s_stopBudget / 3)).ConfigureAwait(false);
        foreach (var session in _sessions.Values)
        {
            session.Dispose();
        }

        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }

        await Task.WhenAny(all, Task.Delay(s_stopBudget * 2 / 3)).ConfigureAwait(false);
        _tls?.Dispose();
    }
}
