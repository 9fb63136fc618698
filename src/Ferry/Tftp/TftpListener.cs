using System.Net;
using System.Net.Sockets;
using Ferry.Hosting;
using Ferry.Protocol.Tftp;
using Ferry.Timing;

namespace Ferry.Tftp;

/// <summary>
/// The TFTP server (RFC 1350 with RFC 2347/2348/2349/7440 options). The listening port only receives requests;
/// each accepted request gets its own socket on an ephemeral port, the server's transfer ID, served on its own
/// thread. Malformed requests get ERROR 4 and everything else arriving at the listening port is dropped, so no
/// input can stop the listener. Concurrent transfers are limited per source address and in total.
/// </summary>
public sealed class TftpListener : IProtocolListener
{
    /// <summary>Concurrent transfers one source address may run.</summary>
    public const int MaxSessionsPerSource = 8;

    /// <summary>Concurrent transfers in total.</summary>
    public const int MaxSessions = 256;

    private readonly ServerContext _context;
    private readonly Socket _socket;
    private readonly ShellClock _clock;
    private readonly TftpServerPolicy _policy;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _sync = new();
    private readonly Dictionary<string, TftpServerSession> _byPeer = new();
    private readonly List<(TftpServerSession Session, Task Task)> _running = new();
    private long _droppedDatagrams;
    private long _malformedRequests;
    private long _refusedForLimits;

    public TftpListener(ServerContext context, int port, TimeProvider? timeProvider = null, TftpServerPolicy? policy = null)
    {
        _context = context;
        _clock = new ShellClock(timeProvider ?? context.Options.Time);
        _policy = policy ?? new TftpServerPolicy();
        _socket = CreateSocket(context.Options.Bind, port);
        LocalEndPoint = _socket.LocalEndPoint!;
    }

    public string Name => "tftp";

    public EndPoint LocalEndPoint { get; }

    /// <summary>Datagrams at the listening port that were not requests.</summary>
    public long DroppedDatagrams => Interlocked.Read(ref _droppedDatagrams);

    /// <summary>Requests that did not parse (each answered with ERROR 4).</summary>
    public long MalformedRequests => Interlocked.Read(ref _malformedRequests);

    /// <summary>Requests refused by the per-source or total session limit.</summary>
    public long RefusedForLimits => Interlocked.Read(ref _refusedForLimits);

    /// <summary>Transfers in progress (not counting ones lingering after their final ACK).</summary>
    public int ActiveSessions
    {
        get
        {
            lock (_sync)
            {
                return _running.Count(r => r.Session.IsActive);
            }
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var buffer = new byte[TftpLimits.MaxPacketLength];
        var from = new SocketAddress(_socket.AddressFamily);
        try
        {
            while (!linked.IsCancellationRequested)
            {
                int n;
                try
                {
                    n = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from, linked.Token).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused
                    or SocketError.MessageSize or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
                {
                    continue;
                }

                try
                {
                    OnDatagram(buffer.AsSpan(0, n), from, linked.Token);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One request must never stop the listener: log and keep serving.
                    _context.Info("tftp", $"request handling failed: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            await StopSessionsAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        await StopSessionsAsync().ConfigureAwait(false);
    }

    private void OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from, CancellationToken cancellationToken)
    {
        if (!TftpPacketReader.TryReadOpcode(datagram, out var opcode) || opcode is not (TftpOpcode.Rrq or TftpOpcode.Wrq))
        {
            // Not a request: never answer (answering an ERROR could start an error loop with another server).
            Interlocked.Increment(ref _droppedDatagrams);
            return;
        }

        var error = TftpPacketReader.ReadRequest(datagram, out var request);
        if (error != TftpParseError.None)
        {
            Interlocked.Increment(ref _malformedRequests);
            SendError(from, TftpErrorCode.IllegalOperation, $"malformed request: {Describe(error)}");
            return;
        }

        var peer = SocketAddresses.ToEndPoint(from);
        string key = peer.ToString();
        IPAddress source = SocketAddresses.Normalize(peer.Address);
        TftpServerSession session;
        lock (_sync)
        {
            _running.RemoveAll(r => r.Session.IsFinished);
            if (_byPeer.TryGetValue(key, out var existing) && !existing.IsFinished
                && existing.Request.Opcode == request!.Opcode && existing.Request.FileName == request.FileName)
            {
                // The client repeated its request: our first packet was lost or is late. The session repeats it once.
                existing.Poke();
                return;
            }

            int fromSource = _running.Count(r => r.Session.IsActive && SocketAddresses.Normalize(r.Session.PeerEndPoint.Address).Equals(source));
            if (fromSource >= MaxSessionsPerSource || _running.Count >= MaxSessions)
            {
                Interlocked.Increment(ref _refusedForLimits);
                SendError(from, TftpErrorCode.NotDefined, "too many transfers at once; try again later");
                return;
            }

            Socket socket;
            try
            {
                socket = CreateSocket(((IPEndPoint)_socket.LocalEndPoint!).Address, 0);
            }
            catch (SocketException e)
            {
                _context.Info("tftp", $"{peer}: cannot open a transfer socket: {e.SocketErrorCode}");
                SendError(from, TftpErrorCode.NotDefined, "server cannot open a transfer port");
                return;
            }

            session = new TftpServerSession(_context, request!, SocketAddresses.Copy(from), peer, socket, _clock, _policy);
            _byPeer[key] = session;
            var task = Task.Factory.StartNew(() => session.Run(cancellationToken), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
            _running.Add((session, task));
            _ = task.ContinueWith(_ => Forget(key, session), TaskScheduler.Default);
        }
    }

    private void Forget(string key, TftpServerSession session)
    {
        lock (_sync)
        {
            if (_byPeer.TryGetValue(key, out var current) && ReferenceEquals(current, session))
            {
                _byPeer.Remove(key);
            }

            _running.RemoveAll(r => ReferenceEquals(r.Session, session));
        }
    }

    private async Task StopSessionsAsync()
    {
        _stop.Cancel();
        Task[] tasks;
        lock (_sync)
        {
            tasks = _running.Select(r => r.Task).ToArray();
        }

        try
        {
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            lock (_sync)
            {
                foreach (var r in _running)
                {
                    r.Session.Close();
                }
            }
        }
    }

    private void SendError(SocketAddress to, TftpErrorCode code, string message)
    {
        Span<byte> buffer = stackalloc byte[128];
        int n = TftpPacketWriter.WriteError(buffer, code, message);
        try
        {
            _socket.SendTo(buffer[..n], SocketFlags.None, to);
        }
        catch (SocketException)
        {
            // Best effort.
        }
    }

    private static string Describe(TftpParseError error) => error switch
    {
        TftpParseError.Truncated => "truncated",
        TftpParseError.UnterminatedString => "unterminated string",
        TftpParseError.BadFileName => "bad file name",
        TftpParseError.BadMode => "unsupported mode (use octet or netascii)",
        TftpParseError.BadOptions => "bad option list",
        TftpParseError.TooLong => "request too long",
        _ => error.ToString(),
    };

    private static Socket CreateSocket(IPAddress bind, int port)
    {
        var socket = new Socket(bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (bind.AddressFamily == AddressFamily.InterNetworkV6 && bind.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            // Room for a whole window of large blocks and many clients' requests.
            socket.SendBufferSize = 1 << 20;
            socket.ReceiveBufferSize = 1 << 20;
            socket.Bind(new IPEndPoint(bind, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
