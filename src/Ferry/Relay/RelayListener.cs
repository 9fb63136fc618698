using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ferry.Hosting;
using Ferry.Protocol.Relay;
using Ferry.Protocol.Security;
using Ferry.Security;

namespace Ferry.Relay;

/// <summary>
/// The message relay of <c>ferry serve</c>: a UDP socket around <see cref="RelayServer"/>, a store task that commits
/// accepted lines in batches (group commit) before they are acknowledged, and a timer. The core runs under one lock.
/// </summary>
public sealed class RelayListener : IProtocolListener
{
    private static readonly TimeSpan s_pruneInterval = TimeSpan.FromMinutes(1);
    private readonly ServerContext _context;
    private readonly Socket _socket;
    private readonly IMessageStore _store;
    private readonly RelayServer _core;
    private readonly MonotonicClock _clock;
    private readonly RelayRetention _retention;
    private readonly object _lock = new();
    private readonly byte[] _sendBuffer = new byte[RelayWire.MaxDatagram];
    private readonly byte[] _sealBuffer = new byte[RelayWire.MaxDatagram + Envelope.Overhead];
    private readonly byte[] _openBuffer = new byte[Envelope.HelloSize + Envelope.Overhead];
    private readonly EnvelopeServer<IPEndPoint> _envelope;
    private readonly bool _allowPlain;
    private long _lastEnvelopeSweep;
    private readonly AsyncPulse _storeWork = new();
    private readonly IPEndPoint _endPointFactory;

    public RelayListener(ServerContext context, int port)
        : this(context, port, store: null, coreOptions: null, time: null)
    {
    }

    /// <param name="store">Defaults to SQLite at <c>StateDir/relay.db</c>.</param>
    public RelayListener(ServerContext context, int port, IMessageStore? store, RelayServerOptions? coreOptions, TimeProvider? time)
    {
        _context = context;
        _clock = new MonotonicClock(time ?? TimeProvider.System);
        var options = context.Options;
        _retention = new RelayRetention(options.RelayRetainCount, options.RelayRetainDays is double d ? TimeSpan.FromDays(d) : null);
        var bind = options.Bind;
        _socket = new Socket(bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (bind.AddressFamily == AddressFamily.InterNetworkV6)
            {
                _socket.DualMode = true;
            }

            _socket.ReceiveBufferSize = 4 << 20;
            _socket.SendBufferSize = 4 << 20;
            _socket.Bind(new IPEndPoint(bind, port));
            _endPointFactory = new IPEndPoint(bind.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            Directory.CreateDirectory(options.StateDir);
            _store = store ?? new SqliteMessageStore(Path.Combine(options.StateDir, "relay.db"), _clock.Time);
            _store.Prune(_retention);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        // Encrypted clients speak through the secure envelope; cleartext only from --insecure servers (or keyless ones).
        _envelope = new EnvelopeServer<IPEndPoint>("relay", options.Identity);
        _allowPlain = options.Identity is null || options.AllowInsecure;
        var access = options.Access;
        coreOptions = (coreOptions ?? new RelayServerOptions()) with
        {
            Authorize = coreOptions?.Authorize ?? (r => Authorize(access, r)),
        };
        _core = new RelayServer(coreOptions, _store, () => BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
    }

    public string Name => "relay";

    public EndPoint LocalEndPoint => _socket.LocalEndPoint!;

    /// <summary>Core counters; read them while the listener runs only for diagnostics (they are not synchronised).</summary>
    public RelayServerStats Stats => _core.Stats;

    public IMessageStore Store => _store;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _context.Info("relay", $"messages in {(_store is SqliteMessageStore s ? s.Path : _store.GetType().Name)}, last sequence {_store.LastSeq}");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new[]
        {
            Task.Run(() => ReceiveLoopAsync(stop.Token), CancellationToken.None),
            Task.Run(() => TimerLoopAsync(stop.Token), CancellationToken.None),
            Task.Run(() => StoreLoopAsync(stop.Token), CancellationToken.None),
        };
        try
        {
            await Task.WhenAny(tasks).ConfigureAwait(false);
        }
        finally
        {
            stop.Cancel();
            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        // A loop that ended before cancellation failed: surface it.
        foreach (var t in tasks)
        {
            if (t.IsFaulted)
            {
                await t.ConfigureAwait(false);
            }
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        var buffer = new byte[Envelope.HelloSize + Envelope.Overhead + 1];
        var address = new SocketAddress(_socket.AddressFamily);
        while (!ct.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, address, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize or SocketError.ConnectionRefused)
            {
                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            bool storeWork;
            lock (_lock)
            {
                long now = _clock.NowMicros;
                ReceivedLocked(buffer.AsSpan(0, n), (IPEndPoint)_endPointFactory.Create(address), now);

                // Take whatever else already arrived before draining: fewer, fuller DELIVERs under load.
                for (int i = 0; i < 64 && _socket.Available > 0; i++)
                {
                    EndPoint from = _endPointFactory;
                    try
                    {
                        n = _socket.ReceiveFrom(buffer, ref from);
                    }
                    catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize or SocketError.WouldBlock or SocketError.ConnectionRefused)
                    {
                        continue;
                    }

                    ReceivedLocked(buffer.AsSpan(0, n), (IPEndPoint)from, now);
                }

                DrainLocked(now);
                storeWork = _core.PendingAppends > 0;
            }

            if (storeWork)
            {
                _storeWork.Pulse();
            }
        }
    }

    private async Task TimerLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            long wait;
            lock (_lock)
            {
                long now = _clock.NowMicros;
                if (_core.NextWakeup() <= now)
                {
                    _core.HandleTimeout(now);
                    DrainLocked(now);
                }

                if (now - _lastEnvelopeSweep > 1_000_000)
                {
                    _envelope.Sweep(now);
                    _lastEnvelopeSweep = now;
                }

                wait = _core.NextWakeup() - now;
            }

            // Timers are coarse (>= 30 ms RTO); waking every 10 ms at most keeps newly armed timers honest.
            wait = Math.Clamp(wait, 1_000, 10_000);
            await Task.Delay(TimeSpan.FromMicroseconds(wait), _clock.Time, ct).ConfigureAwait(false);
        }
    }

    private async Task StoreLoopAsync(CancellationToken ct)
    {
        var batch = new List<RelayAppend>();
        var results = new List<RelayAppendResult>();
        var lastPrune = _clock.Time.GetUtcNow();
        while (!ct.IsCancellationRequested)
        {
            var signal = _storeWork.Task;
            int count;
            lock (_lock)
            {
                count = _core.TakeAppends(batch);
            }

            if (count == 0)
            {
                if (_clock.Time.GetUtcNow() - lastPrune > s_pruneInterval)
                {
                    lastPrune = _clock.Time.GetUtcNow();
                    int removed = _store.Prune(_retention);
                    if (removed > 0)
                    {
                        _context.Info("relay", $"retention removed {removed} messages");
                    }
                }

                await signal.WaitAsync(TimeSpan.FromSeconds(5), _clock.Time, ct).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
                continue;
            }

            try
            {
                _store.Append(batch, results);
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
            {
                _context.Info("relay", $"store failed, {batch.Count} lines will be retried by their writers: {e.Message}");
                lock (_lock)
                {
                    _core.OnAppendFailed(batch);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), _clock.Time, ct).ConfigureAwait(false);
                continue;
            }

            lock (_lock)
            {
                long now = _clock.NowMicros;
                _core.OnAppended(results, now);
                DrainLocked(now);
            }
        }
    }

    /// <summary>The token check of a registration: reading and/or writing, with no path (path-limited tokens are for files).</summary>
    private static string? Authorize(AccessPolicy access, RelayRegistration r)
    {
        string? token = r.Token.Length == 0 ? null : System.Text.Encoding.UTF8.GetString(r.Token);
        var now = DateTimeOffset.UtcNow;
        return (r.Read ? access.Check(token, AccessKind.Read, string.Empty, now) : null)
            ?? (r.Write ? access.Check(token, AccessKind.Write, string.Empty, now) : null);
    }

    /// <summary>One datagram from the socket: through the envelope when it is one, else (if allowed) straight to the core.</summary>
    private void ReceivedLocked(ReadOnlySpan<byte> datagram, IPEndPoint from, long now)
    {
        if (Envelope.IsEnvelope(datagram))
        {
            switch (_envelope.Handle(datagram, from, SourceOf(from), now, _openBuffer, out int length))
            {
                case EnvelopeEvent.Opened:
                    _core.HandleDatagram(_openBuffer.AsSpan(0, length), from, now);
                    break;
                case EnvelopeEvent.Reply:
                    SendRaw(_openBuffer.AsSpan(0, length), from);
                    break;
            }

            return;
        }

        if (_allowPlain && !_envelope.HasSession(from))
        {
            _core.HandleDatagram(datagram, from, now);
            return;
        }

        // Cleartext to a server that requires encryption: say so, never with more bytes than arrived.
        if (!_envelope.HasSession(from) && datagram.Length > Envelope.HeaderSize + 1 && datagram.Length >= RelayWire.HeaderLength
            && datagram[1] == (byte)RelayPacketType.Register)
        {
            int n = Envelope.WriteRefused(_openBuffer, 0, Envelope.RefusedEncryptionRequired, "this relay requires encryption: drop --insecure");
            SendRaw(_openBuffer.AsSpan(0, Math.Min(n, datagram.Length)), from);
        }
    }

    private static UInt128 SourceOf(IPEndPoint peer)
    {
        Span<byte> bytes = stackalloc byte[16];
        var address = peer.Address.IsIPv4MappedToIPv6 ? peer.Address : peer.Address.MapToIPv6();
        address.TryWriteBytes(bytes, out _);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private void SendRaw(ReadOnlySpan<byte> datagram, IPEndPoint to)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, to);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable
            or SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.AddressNotAvailable)
        {
        }
    }

    private void DrainLocked(long now)
    {
        int n;
        while ((n = _core.PollTransmit(_sendBuffer, now, out var to)) > 0)
        {
            ReadOnlySpan<byte> datagram = _sendBuffer.AsSpan(0, n);
            if (_envelope.HasSession(to!))
            {
                datagram = _sealBuffer.AsSpan(0, _envelope.Seal(to!, datagram, _sealBuffer));
            }
            else if (!_allowPlain)
            {
                continue;
            }

            try
            {
                _socket.SendTo(datagram, SocketFlags.None, to!);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable
                or SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.AddressNotAvailable)
            {
                // Like loss on the wire: the protocol retransmits.
            }
        }
    }

    /// <summary>Counters of the secure envelope (handshakes, rate-limited hellos, evictions).</summary>
    public EnvelopeStats EnvelopeStats => _envelope.Stats;

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        _envelope.Dispose();
        _store.Dispose();
        return ValueTask.CompletedTask;
    }
}
