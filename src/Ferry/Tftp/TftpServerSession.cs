using System.Net;
using System.Net.Sockets;
using Ferry.Files;
using Ferry.Hosting;
using Ferry.Protocol.Tftp;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Tftp;

/// <summary>
/// One transfer on the server: its own socket (the server's transfer ID), the request's file opened through the
/// file engine, and a <see cref="TftpSessionRunner"/> driving the state machine on a dedicated thread.
/// Reads go through <see cref="FileEngine.OpenRead"/>; writes through <see cref="FileEngine.BeginUpload"/>
/// (temp file, no overwrite, same-path exclusion), committed before the final ACK is sent.
/// </summary>
internal sealed class TftpServerSession : IDisposable
{
    private readonly ServerContext _context;
    private readonly Socket _socket;
    private readonly SocketAddress _peer;
    private readonly ShellClock _clock;
    private readonly TftpServerPolicy _policy;
    private readonly TftpSessionRunner _runner;
    private readonly string _owner;
    private ReadableFile? _readable;
    private IncomingFile? _incoming;
    private PartialFileBlockSink? _partialSink;
    private SpoolFile? _spool;
    private int _disposed;
    private NetasciiBlockSink? _netascii;
    private IDisposable? _lease;
    private string _path = string.Empty;
    private TransferRequest _request = null!;
    private byte[]? _sha256;
    private volatile bool _finished;
    private TftpSession? _session;
    private long _startedAt;

    public TftpServerSession(ServerContext context, TftpRequest request, SocketAddress peer, IPEndPoint peerEndPoint, Socket socket, ShellClock clock, TftpServerPolicy policy)
    {
        _context = context;
        Request = request;
        _peer = peer;
        PeerEndPoint = peerEndPoint;
        _socket = socket;
        _clock = clock;
        _policy = policy;
        _runner = new TftpSessionRunner(socket, peer, clock) { CancelMessage = Failures.Describe(FailureKind.ServerShutdown) };
        _owner = $"tftp {peerEndPoint}";
    }

    public TftpRequest Request { get; }

    public IPEndPoint PeerEndPoint { get; }

    public bool IsFinished => _finished;

    /// <summary>
    /// False once the transfer is over, including while the socket lingers to re-acknowledge a lost final ACK,
    /// so a client's next transfer is not held back by the per-source limit.
    /// </summary>
    public bool IsActive => !_finished && _session?.State is not (TftpSessionState.Dallying or TftpSessionState.Completed or TftpSessionState.Failed);

    /// <summary>The client sent the same request again (thread-safe).</summary>
    public void Poke() => _runner.Poke();

    /// <summary>Closes the socket: a blocked wait returns and the loop ends.</summary>
    public void Close() => _socket.Dispose();

    /// <summary>Serves the request to the end; never throws (failures are logged and sent as ERROR).</summary>
    public void Run(CancellationToken cancellationToken)
    {
        _startedAt = _clock.NowMicros;

        // Clients often name files from "/" (tftpd-hpa --secure semantics): the root is the top. TFTP has no token:
        // the operator opened it to anonymous clients on purpose, so no access check applies.
        _path = Request.FileName.TrimStart('/');
        _request = new TransferRequest("tftp", PeerEndPoint.ToString(), Request.IsRead ? TransferOperation.Get : TransferOperation.Put, _path);
        try
        {
            var session = Request.IsRead ? PrepareRead() : PrepareWrite();
            _session = session;
            _runner.Run(session, OnEvent, OnPoke, null, cancellationToken);
        }
        catch (TftpRefusedException ex)
        {
            Refuse(ex.Code, ex.Message);
        }
        catch (FileEngineException ex)
        {
            // Refusals of the file engine were logged by the transfer service; one that comes later was not.
            if (_session is not null)
            {
                _context.Transfers.Failed(_request, ex.Message);
            }

            Refuse(TftpErrorMapping.ToTftp(ex.Code), ex.Message, log: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Refuse(TftpErrorCode.NotDefined, Failures.Describe(FailureKind.Io));
            _context.Transfers.Note(_request, ex.Message);
        }
        catch (OperationCanceledException)
        {
            _context.Transfers.Note(_request, "stopped (server shutting down)");
        }
        catch (ObjectDisposedException)
        {
            // The listener closed our socket on shutdown.
        }
        catch (SocketException ex)
        {
            _context.Transfers.Note(_request, $"socket error {ex.SocketErrorCode}");
        }
        finally
        {
            Dispose();
            _finished = true;
        }
    }

    private TftpSession PrepareRead()
    {
        _readable = _context.Transfers.OpenDownload(_request);
        bool ascii = Request.Mode == TftpMode.NetAscii;

        // tsize is the file size in octet mode; the netascii size is unknown until encoded, so it is left out.
        var negotiation = TftpNegotiation.NegotiateServer(Request, _policy, ascii ? null : _readable.Length);
        var p = negotiation.Parameters;
        ITftpBlockSource source = new FileBlockSource(_readable);
        if (ascii)
        {
            source = new NetasciiBlockSource(source, (p.WindowSize + 1) * p.BlockSize);
        }

        _context.Transfers.Started(_request, _readable.Length, $"{Request.Mode} blksize {p.BlockSize} windowsize {p.WindowSize}");
        return TftpSender.ForServer(source, negotiation, TftpSessionConfig.Server, _clock.NowMicros);
    }

    private TftpSession PrepareWrite()
    {
        if (!_context.Options.TftpAllowWrite)
        {
            throw new TftpRefusedException(TftpErrorCode.AccessViolation, "writes are disabled on this server (it runs without --tftp-allow-write)");
        }

        var negotiation = TftpNegotiation.NegotiateServer(Request, _policy with { MaxWriteSize = _context.Files.Options.MaxFileSize }, null);
        if (negotiation.Refused)
        {
            throw new TftpRefusedException(negotiation.RefusalCode!.Value, negotiation.RefusalMessage!);
        }

        ITftpBlockSink sink;
        if (Request.Mode == TftpMode.Octet && negotiation.Parameters.TransferSize is long size)
        {
            // The size is announced: receive straight into the engine's temp file.
            _incoming = _context.Transfers.BeginUpload(_request, size, null);
            _partialSink = new PartialFileBlockSink(_incoming.File);
            sink = _partialSink;
        }
        else
        {
            // Size unknown (no tsize, or netascii): refuse early what BeginUpload would refuse, hold the path against
            // competing uploads, and spool until the end gives the size.
            string full = _context.Files.ResolvePath(_path);
            if (!_context.Files.Options.AllowOverwrite && (File.Exists(full) || Directory.Exists(full)))
            {
                throw new FileEngineException(FileErrorCode.AlreadyExists, $"'{_path}' already exists");
            }

            if (!_context.Files.Registry.TryAcquire(full, _owner, out _lease, out string? current))
            {
                throw new FileEngineException(FileErrorCode.Busy, $"'{_path}' is being uploaded by {current}; try again later");
            }

            _spool = new SpoolFile(Path.Combine(_context.Options.StateDir, "tftp-spool", $"{Guid.NewGuid():N}.tmp"), _context.Files.Options.MaxFileSize);
            sink = _spool;
            if (Request.Mode == TftpMode.NetAscii)
            {
                _netascii = new NetasciiBlockSink(_spool);
                sink = _netascii;
            }
        }

        var p = negotiation.Parameters;
        _context.Transfers.Started(_request, p.TransferSize, $"{Request.Mode} blksize {p.BlockSize} windowsize {p.WindowSize}{(p.TransferSize is null ? ", size not announced" : string.Empty)}");
        return TftpReceiver.ForServer(sink, negotiation, TftpSessionConfig.Server, _clock.NowMicros);
    }

    private void OnEvent(TftpEvent e, long now)
    {
        switch (e.Kind)
        {
            case TftpEventKind.DataComplete:
                Commit();
                (_session as TftpReceiver)?.ConfirmComplete(now);
                break;
            case TftpEventKind.Completed or TftpEventKind.Failed:
                Log(_session!, TimeSpan.FromMicroseconds(now - _startedAt));
                break;
        }
    }

    private void OnPoke(long now)
    {
        _session?.HandleRequestRetransmission(now);
    }

    /// <summary>Puts the received file under its final name (verified, fsynced, renamed) before the final ACK.</summary>
    private void Commit()
    {
        if (_partialSink is not null)
        {
            _sha256 = _partialSink.Finish();
            _incoming!.File.Commit(_sha256);
            return;
        }

        _netascii?.Finish();
        long length = _spool!.Length;

        // Hand the path over from our lease to the engine's upload (which takes its own lease).
        _lease?.Dispose();
        _lease = null;
        _incoming = _context.Transfers.BeginUpload(_request, length, null);
        _spool.CopyTo(_incoming.File);
        _sha256 = _incoming.File.ComputeSha256();
        _incoming.File.Commit(_sha256);
    }

    private void Refuse(TftpErrorCode code, string message, bool log = true)
    {
        if (log)
        {
            _context.Transfers.Refused(_request, $"{code}: {message}");
        }

        var buffer = new byte[TftpLimits.MaxRequestLength];
        int n = TftpPacketWriter.WriteError(buffer, code, message);
        try
        {
            _socket.SendTo(buffer.AsSpan(0, n), SocketFlags.None, _peer);
        }
        catch (SocketException)
        {
            // Best effort: the client times out otherwise.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void Log(TftpSession session, TimeSpan elapsed)
    {
        var s = session.Stats;
        string counters = $"retransmitted {s.DataRetransmitted}, timeouts {s.Timeouts}, duplicate acks {s.DuplicateAcks}, duplicate data {s.DuplicateData}";
        if (session.Failure is null)
        {
            long bytes = session is TftpSender sender ? sender.BytesAcknowledged : ((TftpReceiver)session).BytesReceived;
            string hash = _sha256 is null ? string.Empty : $", sha256 {Convert.ToHexStringLower(_sha256)}";
            _context.Transfers.Done(_request, $"{bytes} bytes in {elapsed.TotalSeconds:F2} s ({counters}){hash}");
        }
        else
        {
            _context.Transfers.Failed(_request, $"{session.Failure} ({counters})");
        }
    }

    /// <summary>Releases the file, its lease, the spool and the socket (at the end of <see cref="Run"/>, or for a session that never ran). Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_incoming is not null)
        {
            if (!_incoming.File.IsCommitted)
            {
                // TFTP cannot resume: nothing is kept of a failed upload.
                _incoming.File.Abort(keepForResume: false);
            }

            _incoming.Dispose();
        }

        _lease?.Dispose();
        _spool?.Dispose();
        _readable?.Dispose();
        _socket.Dispose();
    }
}
