using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ferry.Hosting;
using Ferry.Protocol.Relay;
using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Protocol.Udp;
using Ferry.Timing;
using Ferry.Udp;
using Ferry.Zmq.Native;

namespace Ferry.Relay;

/// <summary>
/// The message relay of <c>ferry serve</c>: a UDP socket around <see cref="RelayServer"/>, an I/O thread that receives and
/// sends in batches (recvmmsg/sendmmsg) and runs the timers, and a store task that commits accepted lines in batches (group
/// commit) before they are acknowledged. The core runs under one lock, which is never held across a syscall or a commit.
/// </summary>
public sealed class RelayListener : IProtocolListener
{
    private static readonly TimeSpan s_pruneInterval = TimeSpan.FromMinutes(1);

    /// <summary>Send batches between two receives while the core has a backlog for readers.</summary>
    private const int MaxSendBatchesPerReceive = 4;

    /// <summary>Where the relay's protocol time starts (both ends): one second, so no timestamp of the cores is ever 0.</summary>
    internal const long RelayClockStart = 1_000_000;

    private readonly ServerContext _context;
    private readonly Socket _socket;
    private readonly IMessageStore _store;
    private readonly RelayServer _core;
    private readonly ShellClock _clock;
    private readonly RelayRetention _retention;
    private readonly object _lock = new();
    private readonly AsyncPulse _storeWork = new();

    // The I/O thread's sender also receives (recvmmsg); the store task has its own sender for the POST_ACKs a commit releases.
    private readonly RelaySender _ioSender;
    private readonly RelaySender _storeSender;

    // Wakes the I/O thread from its poll when a commit made messages sendable (Linux; elsewhere it polls every millisecond).
    private readonly EventFd? _wake;
    // Encrypted clients speak through the secure envelope; cleartext only from --insecure (or keyless) servers.
    private readonly EnvelopeServer<IPEndPoint> _envelope;
    private readonly bool _allowPlain;
    private readonly byte[] _openBuffer = new byte[Envelope.HelloSize + Envelope.Overhead];
    private long _lastEnvelopeSweep;
    private IPEndPoint? _lastFrom;
    private PeerAddress _lastFromAddress;

    public RelayListener(ServerContext context, int port)
        : this(context, port, store: null, coreOptions: null, time: null)
    {
    }

    /// <param name="store">Defaults to SQLite at <c>StateDir/relay.db</c>.</param>
    public RelayListener(ServerContext context, int port, IMessageStore? store, RelayServerOptions? coreOptions, TimeProvider? time)
    {
        _context = context;
        _clock = new ShellClock(time ?? context.Options.Time, RelayClockStart);
        var options = context.Options;
        _retention = new RelayRetention(options.RelayRetainCount, options.RelayRetainDays is double d ? TimeSpan.FromDays(d) : null);
        var bind = options.Bind;
        _socket = UdpChannel.Bind(bind, port);
        try
        {
            Directory.CreateDirectory(options.StateDir);
            _store = store ?? new SqliteMessageStore(Path.Combine(options.StateDir, "relay.db"), _clock.Time);
            _store.Prune(_retention);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        _envelope = new EnvelopeServer<IPEndPoint>("relay", options.Identity);
        _allowPlain = options.Identity is null || options.AllowInsecure;
        var access = options.Access;
        coreOptions = (coreOptions ?? new RelayServerOptions()) with
        {
            Authorize = coreOptions?.Authorize ?? (r => Authorize(access, _clock, r)),
        };
        _ioSender = new RelaySender(_socket, _envelope, _allowPlain, coreOptions.MaxDeliverDatagram);
        _storeSender = new RelaySender(_socket, _envelope, _allowPlain, coreOptions.MaxDeliverDatagram);
        _wake = NativeUdp.IsSupported ? new EventFd() : null;
        _core = new RelayServer(coreOptions, _store, () => BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
    }

    public string Name => "relay";

    public EndPoint LocalEndPoint => _socket.LocalEndPoint!;

    /// <summary>Core counters; read them while the listener runs only for diagnostics (they are not synchronised).</summary>
    public RelayServerStats Stats => _core.Stats;

    public IMessageStore Store => _store;

    /// <summary>Counters of the secure envelope (handshakes, rate-limited hellos, evictions).</summary>
    public EnvelopeStats EnvelopeStats => _envelope.Stats;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _context.Info("relay", $"messages in {(_store is SqliteMessageStore s ? s.Path : _store.GetType().Name)}, last sequence {_store.LastSeq}");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new[]
        {
            Task.Factory.StartNew(() => IoLoop(stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default),
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

    /// <summary>
    /// One thread: send what the core has (a batch at a time, so receiving is never starved), run due timers, wait for a
    /// datagram or the next timer (at most 10 ms, so timers armed by the store task are not late), receive a batch.
    /// </summary>
    private void IoLoop(CancellationToken ct)
    {
        var channel = _ioSender.Channel;
        int sendBatches = 0;
        while (!ct.IsCancellationRequested)
        {
            long wait;
            bool more;
            lock (_lock)
            {
                long now = _clock.NowMicros;
                if (_core.NextWakeup() <= now)
                {
                    _core.HandleTimeout(now);
                }

                if (now - _lastEnvelopeSweep > 1_000_000)
                {
                    _envelope.Sweep(now);
                    _lastEnvelopeSweep = now;
                }

                more = _ioSender.FillLocked(_core, now);
                wait = Math.Clamp(_core.NextWakeup() - now, 0, 10_000);
            }

            _ioSender.Flush();
            if (more && ++sendBatches < MaxSendBatchesPerReceive)
            {
                continue;
            }

            sendBatches = 0;
            if (!more && !WaitReadable(wait))
            {
                continue;
            }

            int received = channel.ReceiveBatch();
            if (received == 0)
            {
                continue;
            }

            bool storeWork;
            lock (_lock)
            {
                long now = _clock.NowMicros;
                for (int i = 0; i < received; i++)
                {
                    var datagram = channel.Received(i, out var from);
                    ReceivedLocked(datagram, EndPoint(from), from.Address, now);
                }

                storeWork = _core.PendingAppends > 0;
            }

            if (storeWork)
            {
                _storeWork.Pulse();
            }
        }
    }

    /// <summary>The token check of a registration: reading and/or writing, with no path (path-limited tokens are for files).</summary>
    private static string? Authorize(AccessPolicy access, ShellClock clock, RelayRegistration r)
    {
        string? token = r.Token.Length == 0 ? null : System.Text.Encoding.UTF8.GetString(r.Token);
        var now = clock.UtcNow;
        return (r.Read ? access.Check(token, AccessKind.Read, string.Empty, now) : null)
            ?? (r.Write ? access.Check(token, AccessKind.Write, string.Empty, now) : null);
    }

    /// <summary>One datagram from the socket: through the envelope when it is one, else (if allowed) straight to the core. <paramref name="source"/> is the sender's address without port (the codec's 16-byte form).</summary>
    private void ReceivedLocked(ReadOnlySpan<byte> datagram, IPEndPoint from, UInt128 source, long now)
    {
        if (Envelope.IsEnvelope(datagram))
        {
            switch (_envelope.Handle(datagram, from, source, now, _openBuffer, out int length))
            {
                case EnvelopeEvent.Opened:
                    _core.HandleDatagram(_openBuffer.AsSpan(0, length), from, now);
                    break;
                case EnvelopeEvent.Reply:
                    _ioSender.EnqueueRawLocked(_openBuffer.AsSpan(0, length), from);
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
            _ioSender.EnqueueRawLocked(_openBuffer.AsSpan(0, Math.Min(n, datagram.Length)), from);
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

            // POST_ACKs go first (the core queues them before DELIVERs): one batch from here, the rest from the I/O thread,
            // woken now; this task goes back to committing instead of serving every reader's backlog.
            bool more;
            lock (_lock)
            {
                long now = _clock.NowMicros;
                _core.OnAppended(results, now);
                more = _storeSender.FillLocked(_core, now);
            }

            _storeSender.Flush();
            if (more)
            {
                _wake?.Signal();
            }
        }
    }

    /// <summary>Waits until a datagram arrives, the store task signals, or <paramref name="timeoutMicros"/> passes; true when the socket is readable.</summary>
    private unsafe bool WaitReadable(long timeoutMicros)
    {
        if (_wake is null)
        {
            return _ioSender.Channel.WaitReadable(Math.Min(timeoutMicros, 1_000));
        }

        var fds = stackalloc NativeUdp.PollFd[2];
        fds[0] = new NativeUdp.PollFd { Fd = NativeUdp.Fd(_socket), Events = NativeUdp.PollIn };
        fds[1] = new NativeUdp.PollFd { Fd = _wake.Fd, Events = NativeUdp.PollIn };
        var ts = new NativeUdp.TimeSpec { Seconds = timeoutMicros / 1_000_000, Nanoseconds = timeoutMicros % 1_000_000 * 1000 };
        if (NativeUdp.PPoll(fds, 2, &ts, null) <= 0)
        {
            return false;
        }

        if (fds[1].Revents != 0)
        {
            _wake.Drain();
        }

        return fds[0].Revents != 0;
    }

    private IPEndPoint EndPoint(in PeerAddress from)
    {
        // The core compares endpoints by value; reuse the last one to spare an allocation per datagram from the same peer.
        if (_lastFrom is { } last && _lastFromAddress == from)
        {
            return last;
        }

        var ep = SocketAddressCodec.ToEndPoint(from);
        if (_socket.AddressFamily == AddressFamily.InterNetworkV6 && ep.AddressFamily == AddressFamily.InterNetwork)
        {
            ep = new IPEndPoint(ep.Address.MapToIPv6(), ep.Port);
        }

        _lastFrom = ep;
        _lastFromAddress = from;
        return ep;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        _ioSender.Dispose();
        _storeSender.Dispose();
        _wake?.Dispose();
        _store.Dispose();
        _envelope.Dispose();
        return ValueTask.CompletedTask;
    }
}
