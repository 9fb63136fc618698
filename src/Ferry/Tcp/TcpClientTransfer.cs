using System.Net;
using System.Net.Sockets;
using Ferry.Files;
using Ferry.Protocol.Tcp;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Tcp;

/// <summary>
/// The client side of one session, shared by download and upload: the control connection, the data connections
/// (each stream index reconnected a bounded number of times when it dies), an idle watchdog, and the first fatal
/// failure, which cancels everything. What flows over the streams is the caller's body. Every connection is
/// encrypted and checked against the pinned server key when a <see cref="TcpClientTls"/> is given.
/// </summary>
internal sealed class TcpClientTransfer : IAsyncDisposable
{
    private readonly EndPoint _endPoint;
    private readonly TimeSpan _connectTimeout;
    private readonly TcpClientSettings _settings;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _userToken;
    private readonly HashSet<TcpConnection> _live = new();
    private readonly CancellationToken _token;
    private readonly TcpClientTls? _tls;
    private readonly string? _accessToken;
    private readonly ShellClock _clock;
    private Task _streams = Task.CompletedTask;
    private Exception? _failure;
    private int _disposed;
    private int _slots;
    private int _alive;

    public TcpClientTransfer(EndPoint endPoint, TcpClientSettings settings, CancellationToken userToken, TcpClientTls? tls = null, string? accessToken = null, TimeSpan? connectTimeout = null)
    {
        _connectTimeout = settings.ConnectTimeout ?? connectTimeout ?? ClientOptions.DefaultConnectTimeout;
        _endPoint = endPoint;
        _tls = tls;
        _accessToken = accessToken;
        _settings = settings;
        _clock = new ShellClock(settings.Time);
        _userToken = userToken;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(userToken);
        _token = _cts.Token;
    }

    /// <summary>Where --verbose lines go; null: nowhere.</summary>
    public Action<string>? Verbose { get; init; }

    /// <summary>Cancelled on the first fatal failure or when the user cancels.</summary>
    public CancellationToken Token => _token;

    public TcpTransferCounters Counters { get; } = new();

    public TcpConnection? Control { get; private set; }

    public TcpSessionId SessionId { get; private set; }

    /// <summary>Connects the control connection, sends OPEN (with this transfer's access token) and returns the server's ACCEPT.</summary>
    public async Task<TcpAcceptReply> OpenAsync(TcpOpenRequest open)
    {
        open = open with { Token = _accessToken };
        if (open.RateLimit is not null)
        {
            try
            {
                return await OpenOnceAsync(open).ConfigureAwait(false);
            }
            catch (TcpPeerException e) when (e.FromPeer && e.Code == TcpErrorCode.BadFrame)
            {
                // A server older than the rate limit field refuses an OPEN that carries it: ask again without (then as
                // below). Such a server holds no limit: the client's own limit still holds, by its streams.
                DropRefused();
                Verbose?.Invoke("tcp: the server does not take a rate limit in OPEN (an older version); opening again without");
                open = open with { RateLimit = null };
            }
        }

        try
        {
            return await OpenOnceAsync(open).ConfigureAwait(false);
        }
        catch (TcpPeerException e) when (e.FromPeer && e.Code == TcpErrorCode.BadFrame && (open.UploadKey is not null || open.Mode is not null))
        {
            // A server older than the upload key or the mode refuses an OPEN that carries one: ask again without the
            // mode (the newer field), then without the key too. MKDIR needs its mode: an old server refuses it anyway.
            DropRefused();
            if (open.Mode is not null && open.Operation == TcpOperation.Put)
            {
                try
                {
                    return await OpenOnceAsync(open with { Mode = null }).ConfigureAwait(false);
                }
                catch (TcpPeerException again) when (again.FromPeer && again.Code == TcpErrorCode.BadFrame && open.UploadKey is not null)
                {
                    DropRefused();
                }
            }
            else if (open.UploadKey is null)
            {
                throw;
            }

            return await OpenOnceAsync(open with { UploadKey = null, Mode = null }).ConfigureAwait(false);
        }
    }

    private void DropRefused()
    {
        if (Control is { } refused)
        {
            Unregister(refused);
            refused.Dispose();
        }
    }

    private async Task<TcpAcceptReply> OpenOnceAsync(TcpOpenRequest open)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(_connectTimeout);
        try
        {
            Control = await TcpConnection.ConnectAsync(_endPoint, TcpConnectionKind.Control, _clock, timeout.Token, _tls).ConfigureAwait(false);
            Register(Control);
            var frame = new byte[open.FrameLength];
            open.Write(frame);
            await Control.SendAsync(frame, timeout.Token).ConfigureAwait(false);
            var (header, payload) = await Control.ReadFrameAsync(timeout.Token).ConfigureAwait(false);
            try
            {
                if (header.Type != TcpFrameType.Accept)
                {
                    throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where ACCEPT expected");
                }

                var status = TcpAcceptReply.TryRead(payload.AsSpan(0, header.Length), open.RateLimit.HasValue, out var accept);
                if (status != TcpDecodeStatus.Ok)
                {
                    throw TcpPeerException.Violation(status, "ACCEPT");
                }

                SessionId = accept!.SessionId;
                Verbose?.Invoke($"tcp: {(_tls is null ? "cleartext" : "TLS 1.3")} session with {_endPoint} (protocol version {TcpWire.Version}): " +
                    $"{accept.GrantedStreams} streams granted, block size {accept.BlockSize}, file {accept.FileSize} bytes" +
                    (accept.RateLimit is { } rate ? $", rate limit {RateLimits.Format(rate)}" : string.Empty));
                return accept;
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(payload);
            }
        }
        catch (OperationCanceledException) when (!_userToken.IsCancellationRequested)
        {
            throw Failures.NoAnswer($"{_endPoint}", _connectTimeout);
        }
        catch (TcpPeerException e) when (e.ConnectionLost)
        {
            // Nothing was transferred yet: no "resume" hint, just what happened.
            throw new TransferException(ExitCode.Timeout, $"no answer from {_endPoint}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Opens a job: connects the control connection, sends OPEN (JOB_PUT or JOB_GET, with this transfer's access token)
    /// and the manifest in ENTRIES frames, and returns the server's STATUS records (one per entry, in order) and ACCEPT.
    /// </summary>
    public async Task<(List<TcpEntryStatus> Statuses, TcpAcceptReply Accept)> OpenJobAsync(TcpOpenRequest open, IReadOnlyList<TcpJobEntry> entries)
    {
        if (open.RateLimit is null)
        {
            return await OpenJobOnceAsync(open, entries).ConfigureAwait(false);
        }

        try
        {
            return await OpenJobOnceAsync(open, entries).ConfigureAwait(false);
        }
        catch (TcpPeerException e) when (e.FromPeer && e.Code == TcpErrorCode.BadFrame)
        {
            // As OpenAsync: a server older than the rate limit field refuses it; ask again without.
            DropRefused();
            Verbose?.Invoke("tcp: the server does not take a rate limit in OPEN (an older version); opening again without");
            return await OpenJobOnceAsync(open with { RateLimit = null }, entries).ConfigureAwait(false);
        }
    }

    private async Task<(List<TcpEntryStatus> Statuses, TcpAcceptReply Accept)> OpenJobOnceAsync(TcpOpenRequest open, IReadOnlyList<TcpJobEntry> entries)
    {
        open = open with { Token = _accessToken };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(_connectTimeout);
        try
        {
            Control = await TcpConnection.ConnectAsync(_endPoint, TcpConnectionKind.Control, _clock, timeout.Token, _tls).ConfigureAwait(false);
            Register(Control);
            int next = 0;
            var first = TcpJobFrames.WriteEntries(entries, ref next);
            var frame = new byte[open.FrameLength + first.Length];
            int n = open.Write(frame);
            first.CopyTo(frame, n);
            await Control.SendAsync(frame, timeout.Token).ConfigureAwait(false);
            while (next < entries.Count)
            {
                await Control.SendAsync(TcpJobFrames.WriteEntries(entries, ref next), timeout.Token).ConfigureAwait(false);
                timeout.CancelAfter(_connectTimeout);
            }

            var statuses = new List<TcpEntryStatus>(entries.Count);
            while (true)
            {
                timeout.CancelAfter(_connectTimeout); // a fresh window per frame: judging a large manifest takes a while
                var (header, payload) = await Control.ReadFrameAsync(timeout.Token).ConfigureAwait(false);
                try
                {
                    var body = payload.AsSpan(0, header.Length);
                    if (header.Type == TcpFrameType.Status && statuses.Count < entries.Count)
                    {
                        var status = TcpJobFrames.TryReadStatus(body, entries.Count, statuses);
                        if (status != TcpDecodeStatus.Ok)
                        {
                            throw TcpPeerException.Violation(status, "STATUS");
                        }

                        continue;
                    }

                    if (header.Type != TcpFrameType.Accept || statuses.Count < entries.Count)
                    {
                        throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where {(statuses.Count < entries.Count ? "STATUS" : "ACCEPT")} expected");
                    }

                    var decoded = TcpAcceptReply.TryRead(body, open.RateLimit.HasValue, out var accept);
                    if (decoded != TcpDecodeStatus.Ok)
                    {
                        throw TcpPeerException.Violation(decoded, "ACCEPT");
                    }

                    SessionId = accept!.SessionId;
                    Verbose?.Invoke($"tcp: {(_tls is null ? "cleartext" : "TLS 1.3")} job session with {_endPoint}: {entries.Count} entries, " +
                        $"{statuses.Count(s => s.Accepted)} accepted, {accept.GrantedStreams} streams granted, block size {accept.BlockSize}, {accept.FileSize} bytes");
                    return (statuses, accept);
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(payload);
                }
            }
        }
        catch (OperationCanceledException) when (!_userToken.IsCancellationRequested)
        {
            throw Failures.NoAnswer($"{_endPoint}", _connectTimeout);
        }
        catch (TcpPeerException e) when (e.ConnectionLost)
        {
            throw new TransferException(ExitCode.Timeout, $"no answer from {_endPoint}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Runs <paramref name="count"/> streams. Each connects, joins, and runs <paramref name="body"/>; a stream whose
    /// connection dies calls <paramref name="onLost"/> with its slot and reconnects (bounded). When the last stream
    /// gives up before <paramref name="isDone"/>, the transfer fails. Returns when every stream has ended.
    /// </summary>
    public Task RunStreamsAsync(int count, Func<TcpConnection, int, int, CancellationToken, Task> body, Action<int> onLost, Func<bool> isDone)
    {
        _alive = count;
        var tasks = new Task[count];
        for (int i = 0; i < count; i++)
        {
            int index = i;
            tasks[i] = Task.Run(() => RunStreamAsync(index, body, onLost, isDone));
        }

        _streams = Task.WhenAll(tasks);
        return _streams;
    }

    /// <summary>Fails the transfer with <paramref name="failure"/> when nothing moves for <paramref name="idle"/> while data is missing.</summary>
    public async Task WatchIdleAsync(TimeSpan idle, Func<bool> isDone)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Clamp(idle.TotalMilliseconds / 4, 50, 1000)), _clock.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(Token).ConfigureAwait(false))
            {
                if (isDone())
                {
                    return;
                }

                long? last;
                lock (_live)
                {
                    last = _live.Count == 0 ? null : _live.Max(c => c.LastActivity);
                }

                if (last is { } at && _clock.NowMicros - at > idle.TotalMicroseconds)
                {
                    Fail(Failures.Silent($"{_endPoint}", idle));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Watches a background task: its failure fails the transfer.</summary>
    public async Task GuardAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    /// <summary>Records the first fatal failure and cancels everything.</summary>
    public void Fail(Exception failure)
    {
        if (Interlocked.CompareExchange(ref _failure, failure, null) == null)
        {
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Awaits <paramref name="task"/>, turning a cancellation caused by a failure into that failure.</summary>
    public async Task<T> WaitAsync<T>(Task<T> task)
    {
        try
        {
            return await task.WaitAsync(Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_failure is not null)
        {
            throw Translate(_failure);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Translate(e);
        }
    }

    /// <summary>Awaits <paramref name="task"/>, turning a cancellation caused by a failure into that failure.</summary>
    public async Task WaitAsync(Task task)
    {
        try
        {
            await task.WaitAsync(Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_failure is not null)
        {
            throw Translate(_failure);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Translate(e);
        }
    }

    /// <summary>Sends one frame on the control connection.</summary>
    public async Task SendControlAsync(byte[] frame) => await Control!.SendAsync(frame, Token).ConfigureAwait(false);

    /// <summary>Runs one step of the session (open, a control frame, an answer) under <see cref="WaitAsync{T}"/>, with its failure translated for the user.</summary>
    public async Task<T> StepAsync<T>(Func<Task<T>> step)
    {
        try
        {
            return await WaitAsync(step()).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Translate(e);
        }
    }

    /// <summary><see cref="StepAsync{T}"/> for a step without a result.</summary>
    public async Task StepAsync(Func<Task> step)
    {
        try
        {
            await WaitAsync(step()).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Translate(e);
        }
    }

    /// <summary>Turns any failure into the <see cref="TransferException"/> the CLI reports.</summary>
    public static Exception Translate(Exception e) => e switch
    {
        TransferException => e,
        TcpPeerException { FromPeer: true } p => Failures.FromServer(TcpErrors.FromWire(p.Code), p.Message),
        TcpPeerException { ConnectionLost: true } p => new TransferException(ExitCode.Timeout, $"{p.Message}; {Failures.ResumeHint}", p),
        TcpPeerException p => new TransferException(ExitCode.Failure, $"protocol error: {p.Message}", p),
        FileEngineException f => new TransferException(TcpErrors.LocalExitCode(f.Code), f.Message, f),
        IOException io => new TransferException(ExitCode.LocalIo, io.Message, io),
        _ => e,
    };

    /// <summary>Cancels everything, closes every connection, and waits for the streams to finish.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _cts.Cancel();
        List<TcpConnection> live;
        lock (_live)
        {
            live = _live.ToList();
            _live.Clear();
        }

        foreach (var c in live)
        {
            c.Dispose();
        }

        try
        {
            await _streams.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TcpPeerException or IOException)
        {
            // Every stream failure was already recorded (or is moot now).
        }

        _cts.Dispose();
    }

    private async Task RunStreamAsync(int index, Func<TcpConnection, int, int, CancellationToken, Task> body, Action<int> onLost, Func<bool> isDone)
    {
        Exception? last = null;
        int attempts = 0;
        try
        {
            while (!Token.IsCancellationRequested && !isDone())
            {
                TcpConnection? connection = null;
                int slot = Interlocked.Increment(ref _slots);
                try
                {
                    connection = await JoinAsync(index).ConfigureAwait(false);
                    if (attempts > 0)
                    {
                        Counters.Reconnected();
                    }

                    await body(connection, index, slot, Token).ConfigureAwait(false);
                    return;
                }
                catch (FileEngineException e)
                {
                    // A local write or read failed (disk full, source shrank): no stream can do better.
                    Fail(e);
                    return;
                }
                catch (IOException e) when (e is not FileEngineException)
                {
                    Fail(new TransferException(ExitCode.LocalIo, e.Message, e));
                    return;
                }
                catch (TransferException e)
                {
                    // The data connection presented another server key than the control connection's pin: stop.
                    Fail(e);
                    return;
                }
                catch (Exception e) when (e is TcpPeerException or OperationCanceledException or ObjectDisposedException)
                {
                    onLost(slot);
                    if (Token.IsCancellationRequested || isDone())
                    {
                        return;
                    }

                    last = e;
                    Counters.StreamLost();
                    if (e is TcpPeerException { FromPeer: true } || ++attempts > _settings.MaxReconnectsPerStream)
                    {
                        return;
                    }
                }
                finally
                {
                    if (connection is not null)
                    {
                        Unregister(connection);
                        connection.Dispose();
                    }
                }
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _alive) == 0 && !isDone() && !Token.IsCancellationRequested)
            {
                Fail(last is TcpPeerException { FromPeer: true } ? last
                    : new TransferException(ExitCode.Timeout, $"every data connection to {_endPoint} was lost ({last?.Message}); {Failures.ResumeHint}"));
            }
        }
    }

    private async Task<TcpConnection> JoinAsync(int index)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(_connectTimeout);
        var connection = await TcpConnection.ConnectAsync(_endPoint, TcpConnectionKind.Data, _clock, timeout.Token, _tls).ConfigureAwait(false);
        Register(connection);
        try
        {
            var frame = new byte[TcpSmallFrames.JoinFrameLength];
            TcpSmallFrames.WriteJoin(frame, SessionId, (uint)index);
            await connection.SendAsync(frame, timeout.Token).ConfigureAwait(false);
            var (header, payload) = await connection.ReadFrameAsync(timeout.Token).ConfigureAwait(false);
            System.Buffers.ArrayPool<byte>.Shared.Return(payload);
            if (header.Type != TcpFrameType.Joined)
            {
                throw TcpPeerException.Violation(TcpDecodeStatus.UnexpectedType, $"{header.Type} where JOINED expected");
            }

            return connection;
        }
        catch
        {
            Unregister(connection);
            connection.Dispose();
            throw;
        }
    }

    private void Register(TcpConnection connection)
    {
        try
        {
            connection.Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            connection.Socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30);
            connection.Socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 10);
        }
        catch (SocketException)
        {
        }

        lock (_live)
        {
            _live.Add(connection);
        }
    }

    private void Unregister(TcpConnection connection)
    {
        lock (_live)
        {
            _live.Remove(connection);
        }
    }
}
