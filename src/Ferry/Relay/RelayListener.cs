using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ferry.Hosting;
using Ferry.Protocol.Relay;

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

        _core = new RelayServer(coreOptions ?? new RelayServerOptions(), _store, () => BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
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
        var buffer = new byte[RelayWire.MaxDatagram + 1];
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
                _core.HandleDatagram(buffer.AsSpan(0, n), (IPEndPoint)_endPointFactory.Create(address), now);

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

                    _core.HandleDatagram(buffer.AsSpan(0, n), (IPEndPoint)from, now);
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

    private void DrainLocked(long now)
    {
        int n;
        while ((n = _core.PollTransmit(_sendBuffer, now, out var to)) > 0)
        {
            try
            {
                _socket.SendTo(_sendBuffer.AsSpan(0, n), SocketFlags.None, to!);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable
                or SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.AddressNotAvailable)
            {
                // Like loss on the wire: the protocol retransmits.
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        _store.Dispose();
        return ValueTask.CompletedTask;
    }
}
