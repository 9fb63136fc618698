using System.Net;
using System.Security.Cryptography;
using Ferry.Files;
using Ferry.Hosting;
using Ferry.Protocol.Udp;
using Ferry.Security;
using Ferry.Protocol.Udp.Wire;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Udp;

/// <summary>
/// The udp:// server shell: owns one socket and one thread that runs the loop
/// receive batch -> feed <see cref="ServerEndpoint"/> -> act on events through the file engine -> send batch -> wait.
/// </summary>
public sealed partial class UdpServerListener : IProtocolListener
{
    /// <summary>Largest datagram the server accepts; clients negotiate down from their own maximum.</summary>
    public const int ServerMaxDatagram = 9000;

    private readonly ServerContext _context;
    private readonly UdpChannel _channel;
    private readonly ServerEndpoint _endpoint;
    private readonly ShellClock _clock;
    private readonly Dictionary<Connection, ServerTransfer> _transfers = new();
    private readonly Dictionary<Connection, (Task<HeldListing> Task, TransferRequest Request, bool Recursive)> _listings = new();

    // Uploads being made durable by the file engine's group commit, off this loop: answered (RESULT) when done, so one
    // upload's fsyncs never hold back the datagrams of every other connection.
    private readonly Dictionary<Connection, (Task Task, TransferRequest Request, long Size, byte[] Sha256)> _commits = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly UdpRateShares _rates;
    private Task _loop = Task.CompletedTask;
    private int _loopThreadId;
    private int _disposed;

    public UdpServerListener(ServerContext context, IPAddress bind, int port, ConnectionConfig? config = null, TimeProvider? time = null)
    {
        _context = context;
        _rates = new UdpRateShares(context.Rates);
        _clock = new ShellClock(time ?? context.Options.Time);
        config ??= new ConnectionConfig
        {
            MaxDatagram = ServerMaxDatagram,
            Security = new UdpSecurity { Identity = context.Options.Identity, AllowInsecure = context.Options.AllowInsecure },
        };
        _channel = new UdpChannel(UdpChannel.Bind(bind, port), config.MaxDatagram + 64);
        _endpoint = new ServerEndpoint(config, RandomNumberGenerator.GetBytes(32), () => BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
        LocalEndPoint = _channel.Socket.LocalEndPoint!;
    }

    public string Name => "udp";

    public EndPoint LocalEndPoint { get; }

    /// <summary>Counters of hostile or stray datagrams, for tests and logs.</summary>
    public EndpointStats Stats => _endpoint.Stats;

    public int ActiveConnections => _endpoint.Connections.Count;

    public Task RunAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var thread = new Thread(() =>
        {
            try
            {
                _loopThreadId = Environment.CurrentManagedThreadId;
                Loop(linked.Token);
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "ferry-udp-server",
        };
        thread.Start();
        _loop = done.Task;
        return done.Task;
    }

    private void Loop(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            long now = _clock.NowMicros;
            int received = _channel.ReceiveBatch();
            for (int i = 0; i < received; i++)
            {
                var datagram = _channel.Received(i, out var from);
                _endpoint.HandleDatagram(now, datagram, from);
            }

            _endpoint.HandleTimeouts(now);
            DrainEvents(now);
            _rates.Apply();
            AcceptListings(_clock.NowMicros);
            FinishCommits();
            PumpJobs(_clock.NowMicros);
            // Answering a request opens or creates a file: send with the time of sending, not of receiving, so the
            // round trips the peers measure hold no server think time.
            Transmit(_clock.NowMicros);
            if (_channel.LastBatchWasFull)
            {
                continue; // more is probably waiting
            }

            long wait = Math.Min(_endpoint.NextTimeout - _clock.NowMicros, _commits.Count > 0 || _jobs.Count > 0 ? 500 : _listings.Count > 0 ? 2_000 : 100_000);
            if (wait > 0)
            {
                _channel.WaitReadable(wait);
            }
        }

        Shutdown();
    }

    private void Transmit(long now)
    {
        int length;
        while ((length = _endpoint.PollTransmit(now, _channel.NextSendBuffer(), out var to)) > 0)
        {
            _channel.Commit(length, to);
        }

        _channel.Flush();
    }

    private void DrainEvents(long now)
    {
        while (_endpoint.TryPollEvent(out var connection, out var ev))
        {
            try
            {
                OnEvent(connection, ev, now);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                connection.Close(UdpErrors.ToWire(e), e.Message, now);
            }
        }

        if (_endpoint.Sweep() is { } closed)
        {
            foreach (var c in closed)
            {
                Release(c);
            }
        }
    }

    private void OnEvent(Connection c, ConnectionEvent ev, long now)
    {
        switch (ev.Kind)
        {
            case ConnectionEventKind.RequestReceived when IsJob(ev):
                BeginJob(c, ev, now);
                break;
            case ConnectionEventKind.RequestReceived:
                Accept(c, ev, now);
                break;
            case ConnectionEventKind.StreamData:
                OnJobStream(c, ev.StreamBytes!, now);
                break;
            case ConnectionEventKind.DataComplete when c.Op.IsJob():
                break; // each file is verified by its own FILE_HASH
            case ConnectionEventKind.DataComplete:
            {
                _rates.Leave(c);
                var transfer = _transfers[c];
                var request = RequestOf(c, c.Op, c.Path);
                if (transfer.Directory is { } directory)
                {
                    MakeDirectory(c, request, directory, ev.Sha256!);
                    break;
                }

                var upload = transfer.Upload!;
                try
                {
                    // Verified here; made durable and renamed by the group commit, answered by FinishCommits.
                    _commits[c] = (upload.File.CommitAsync(ev.Sha256), request, ev.Size, ev.Sha256!);
                }
                catch (FileEngineException e)
                {
                    c.FinishReceive(UdpErrors.ToWire(e), e.Message);
                    _context.Transfers.Failed(request, e.Message);
                }

                break;
            }

            case ConnectionEventKind.ResultReceived:
                _rates.Leave(c);
                if (ev.Code == TransferError.None)
                {
                    _context.Transfers.Done(RequestOf(c, c.Op, c.Path), $"{c.Size} bytes sent ({c.Stats.DataBytesRetransmitted} bytes retransmitted)");
                }
                else
                {
                    _context.Transfers.Failed(RequestOf(c, c.Op, c.Path), $"at the client: {ev.Code} {ev.Message}");
                }

                break;
            case ConnectionEventKind.Closed when c.Op.IsJob():
                if (_jobs.TryGetValue(c, out var job) && !job.Finished && ev.Code != TransferError.None)
                {
                    _context.Transfers.Failed(job.Request, $"closed ({ev.Code}{(ev.ByPeer ? " by client" : string.Empty)}) {ev.Message}");
                }

                break;
            case ConnectionEventKind.Closed:
                // Refusals were logged when made; log only failures that happened later.
                if (ev.Code is not TransferError.None && (ev.ByPeer || c.Stats.PacketsReceived > 1))
                {
                    _context.Transfers.Note(RequestOf(c, c.Op, c.Path), $"closed ({ev.Code}{(ev.ByPeer ? " by client" : string.Empty)}) {ev.Message}");
                }

                break;
        }
    }

    private void Accept(Connection c, ConnectionEvent ev, long now)
    {
        var request = RequestOf(c, ev.Op, ev.Path, ev.Token);
        if (_context.Transfers.Authorize(request) is { } denied)
        {
            c.Reject(TransferError.Denied, denied, now);
            return;
        }

        try
        {
            if (ev.Op == TransferOp.List)
            {
                // Walking a large tree takes a while: off this loop, which serves every other connection. The
                // answer is given when the listing is ready (AcceptListings).
                bool recursive = (ev.Size & 1) != 0;
                _listings[c] = (Task.Run(() => _context.Transfers.List(request, recursive)), request, recursive);
            }
            else if (ev.Op == TransferOp.Get)
            {
                var file = _context.Transfers.OpenDownload(request);
                var source = new FileDataSource(file.CreateHashingSource(backgroundHashing: true), ev.Path);
                _transfers[c] = new ServerTransfer { Read = file, Source = source };
                _rates.Join(c, ev.RateLimit);
                c.Accept(file.Length, file.Identity.MtimeUnixMs, source, null, null);
                _context.Transfers.Started(request, file.Length);
            }
            else if (ev.Op == TransferOp.MakeDirectory)
            {
                // An empty upload on the wire; the directory is made when its (empty) data is verified.
                _transfers[c] = new ServerTransfer { Directory = (ev.FileMode, ev.IdentityMtime) };
                c.Accept(0, ev.IdentityMtime, null, EmptyDataSink.Instance, null);
                _context.Transfers.Started(request, null, ev.FileMode is int mode ? $"mode {Convert.ToString(mode, 8)}" : null);
            }
            else
            {
                var upload = _context.Transfers.BeginUpload(
                    request, ev.Size, new FileIdentity(ev.IdentitySize, ev.IdentityMtime), ev.UploadKey, _ => new Takeover(this, c), ev.FileMode);
                _transfers[c] = new ServerTransfer { Upload = upload };
                _rates.Join(c, ev.RateLimit);
                c.Accept(0, ev.IdentityMtime, null, new PartialFileSink(upload.File, _clock), upload.File.Received);
                _context.Transfers.Started(request, ev.Size, upload.File.ResumedBytes > 0 ? $"resuming from {upload.File.ResumedBytes}" : null);
            }
        }
        catch (FileEngineException e)
        {
            // Logged by the transfer service.
            c.Reject(UdpErrors.ToWire(e), e.Message, now);
        }
    }

    /// <summary>Sends the RESULT of every upload whose commit finished: stored, or why not.</summary>
    private void FinishCommits()
    {
        if (_commits.Count == 0)
        {
            return;
        }

        foreach (var (c, (task, request, size, sha)) in _commits.Where(p => p.Value.Task.IsCompleted).ToList())
        {
            _commits.Remove(c);
            if (task.IsCompletedSuccessfully)
            {
                c.FinishReceive(TransferError.None, "stored");
                _context.Transfers.Done(request, $"stored ({size} bytes, sha256 {Convert.ToHexStringLower(sha)})");
                continue;
            }

            var e = task.Exception!.InnerException!;
            c.FinishReceive(UdpErrors.ToWire(e), e.Message);
            _context.Transfers.Failed(request, e.Message);
        }
    }

    /// <summary>Answers the LIST requests whose listing is ready: served as a GET of its bytes, or refused.</summary>
    private void AcceptListings(long now)
    {
        if (_listings.Count == 0)
        {
            return;
        }

        foreach (var (c, (task, request, recursive)) in _listings.Where(p => p.Value.Task.IsCompleted).ToList())
        {
            _listings.Remove(c);
            if (task.IsCompletedSuccessfully)
            {
                var listing = task.Result;
                if (c.State is ConnectionState.Closing or ConnectionState.Closed)
                {
                    listing.Dispose(); // the client gave up meanwhile
                    continue;
                }

                // The listing is served as the file of a GET: the same flow control, retransmission and SHA-256.
                _transfers[c] = new ServerTransfer { Listing = listing };
                c.Accept(listing.Bytes.Length, 0, new MemoryDataSource(listing.Bytes), null, null);
                _context.Transfers.Started(request, listing.Bytes.Length, recursive ? "recursive" : null);
            }
            else
            {
                var e = task.Exception?.InnerException;
                var (code, message) = e is null ? (UdpErrors.ToWire(FailureKind.Io), "listing failed") : (UdpErrors.ToWire(e), e.Message);
                c.Reject(code, message, now);
                if (e is not FileEngineException)
                {
                    _context.Transfers.Refused(request, message); // the service logged its own refusals
                }
            }
        }
    }

    private void MakeDirectory(Connection c, TransferRequest request, (int? Mode, long Mtime) directory, byte[] sha256)
    {
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(sha256, System.Security.Cryptography.SHA256.HashData(ReadOnlySpan<byte>.Empty)))
        {
            c.FinishReceive(TransferError.Integrity, "MKDIR: the SHA-256 is not that of no bytes");
            _context.Transfers.Failed(request, "the SHA-256 is not that of no bytes");
            return;
        }

        try
        {
            _context.Transfers.MakeDirectory(request, directory.Mode, directory.Mtime);
            c.FinishReceive(TransferError.None, "created");
            _context.Transfers.Done(request, "directory ready");
        }
        catch (FileEngineException e)
        {
            // Logged by the transfer service.
            c.FinishReceive(UdpErrors.ToWire(e), e.Message);
        }
    }

    /// <summary>The request a connection carries, as the transfer service takes it.</summary>
    private TransferRequest RequestOf(Connection c, TransferOp op, string path, string? token = null) =>
        new(Name, SocketAddressCodec.ToEndPoint(c.Peer).ToString(), op switch
        {
            TransferOp.Get => TransferOperation.Get,
            TransferOp.List => TransferOperation.List,
            TransferOp.MakeDirectory => TransferOperation.MakeDirectory,
            TransferOp.JobGet => TransferOperation.Get,
            _ => TransferOperation.Put,
        }, path, token);

    private void Release(Connection c)
    {
        ReleaseJob(c);
        _rates.Leave(c);
        if (_transfers.Remove(c, out var t))
        {
            if (_commits.Remove(c, out var commit))
            {
                // The client is gone, but its verified file still lands: the upload (and its hold on the path) is
                // released once the commit is done.
                commit.Task.ContinueWith(_ => t.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
            else
            {
                t.Dispose();
            }
        }

        if (_listings.Remove(c, out var pending))
        {
            // Still being built: released when it is.
            pending.Task.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
    }

    private void Shutdown()
    {
        long now = _clock.NowMicros;
        // Uploads already verified finish landing before their files are let go.
        Task.WaitAll(_commits.Values.Select(p => p.Task).Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default)).ToArray(), TimeSpan.FromSeconds(30));
        FinishCommits();
        Transmit(now);
        _endpoint.CloseAll(UdpErrors.ToWire(FailureKind.ServerShutdown), Failures.Describe(FailureKind.ServerShutdown), now);
        Transmit(now);
        foreach (var t in _transfers.Values)
        {
            t.Dispose();
        }

        _transfers.Clear();
        foreach (var c in _listings.Keys.Concat(_jobs.Keys).ToList())
        {
            Release(c);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The loop thread uses the channel's native buffers: stop it before freeing them.
        _stop.Cancel();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already reported by RunAsync's task.
        }

        _channel.Dispose();
        _stop.Dispose();
    }

    /// <summary>
    /// How the upload registry stops one of this listener's uploads for a newcomer (a client killed mid-upload leaves
    /// its connection open until the idle timeout): only from this listener's loop thread, where its state lives.
    /// </summary>
    private sealed class Takeover(UdpServerListener listener, Connection connection) : IUploadTakeover
    {
        public TimeSpan Silence => TimeSpan.FromMicroseconds(Math.Max(0, listener._clock.NowMicros - connection.LastActivity));

        public bool TryStop(string reason)
        {
            if (Environment.CurrentManagedThreadId != listener._loopThreadId || !(listener._transfers.ContainsKey(connection) || listener._jobs.ContainsKey(connection)))
            {
                return false;
            }

            connection.Close(TransferError.Cancelled, reason, listener._clock.NowMicros);
            listener.Release(connection);
            return true;
        }
    }

    /// <summary>The file-engine resources of one connection.</summary>
    private sealed class ServerTransfer : IDisposable
    {
        public ReadableFile? Read { get; init; }

        public FileDataSource? Source { get; init; }

        public IncomingFile? Upload { get; init; }

        public HeldListing? Listing { get; init; }

        /// <summary>MKDIR: the mode and mtime the directory gets once the request's empty data is verified.</summary>
        public (int? Mode, long Mtime)? Directory { get; init; }

        public void Dispose()
        {
            Listing?.Dispose();
            Source?.Dispose();
            Read?.Dispose();
            Upload?.Dispose();
        }
    }
}
