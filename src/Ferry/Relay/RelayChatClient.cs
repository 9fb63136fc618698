using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ferry.Protocol.Relay;
using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Relay;

/// <summary>
/// A relay client over a connected UDP socket: <see cref="PostAsync"/> lines, <see cref="ReadAsync"/> messages (each sequence
/// once, in order), <see cref="FlushAsync"/> until every posted line is durably stored. Failures surface as
/// <see cref="TransferException"/> with the exit code the CLI uses (Refused, Timeout).
/// </summary>
public sealed partial class RelayChatClient : IAsyncDisposable
{
    private static readonly Action<object?> s_flush = state => ((RelayChatClient)state!).FlushQueued();
    private readonly Socket _socket;
    private readonly RelayClient _core;
    private readonly ShellClock _clock;
    private readonly object _lock = new();
    private readonly byte[] _sendBuffer = new byte[RelayWire.MaxDatagram];
    private readonly byte[] _sealBuffer = new byte[RelayWire.MaxDatagram + Envelope.Overhead];

    // Sized for the largest DELIVER this client asked for (RelayClientOptions.MaxDatagram).
    private readonly byte[] _openBuffer;
    private readonly byte[] _receiveBuffer;
    private EnvelopeClient? _envelope;

    // 1 while a flush of posted lines is queued to the thread pool: lines posted meanwhile join the same POST.
    private int _flushQueued;

    // A new handshake after the server forgot our envelope (it restarted).
    private EnvelopeClient? _rehandshake;
    private byte[]? _rehandshakeHello;
    private long _rehandshakeSent;
    private string _host = string.Empty;
    private int _port;
    private RelayChatOptions? _options;
    private readonly AsyncPulse _changed = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<RelayRegisteredInfo> _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _receiveLoop;

    // One timer, armed for the core's next wake-up whenever that moves earlier (DrainLocked), instead of a loop polling every
    // 1-20 ms: a hundred idle clients in one process cost no wake-ups. _armedAt is long.MaxValue while it is not armed.
    private ITimer? _timer;
    private long _armedAt = long.MaxValue;
    private bool _disposed;
    private TransferException? _failure;

    private RelayChatClient(Socket socket, RelayClientOptions options, TimeProvider time)
    {
        _socket = socket;
        _clock = new ShellClock(time, RelayListener.RelayClockStart);
        _core = new RelayClient(options, _clock.NowMicros);
        int max = Math.Clamp(options.MaxDatagram, RelayWire.MaxDatagram, RelayWire.MaxLargeDatagram);
        _openBuffer = new byte[max + Envelope.Overhead];
        _receiveBuffer = new byte[max + Envelope.Overhead + 1];
    }

    /// <summary>Called (on a pool thread) for notices: re-registration after a server restart, pruned history.</summary>
    public Action<RelayClientEvent>? OnNotice { get; set; }

    public RelayRegisteredInfo Info => _registered.Task.Result;

    public RelayClientStats Stats => _core.Stats;

    /// <summary>Lines posted and not yet durably stored.</summary>
    public int Unacknowledged
    {
        get
        {
            lock (_lock)
            {
                return _core.UnacknowledgedLines;
            }
        }
    }

    /// <summary>Resolves <paramref name="host"/>, registers, and returns once the server accepted the registration.</summary>
    public static async Task<RelayChatClient> ConnectAsync(string host, int port, RelayChatOptions options, CancellationToken cancellationToken, TimeProvider? time = null)
    {
        ClientSecurity.RequireWellFormedPin(options.ServerKey);
        if (!RelayWire.IsValidName(options.User))
        {
            throw new TransferException(ExitCode.Usage, $"'{options.User}' is not a valid user name: 1..{RelayWire.MaxNameBytes} UTF-8 bytes, no spaces or control characters");
        }

        IPAddress address;
        if (!IPAddress.TryParse(host, out address!))
        {
            IPAddress[] found;
            try
            {
                found = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new TransferException(ExitCode.Usage, $"cannot resolve '{host}': {e.Message}");
            }

            address = found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? found.FirstOrDefault()
                ?? throw new TransferException(ExitCode.Usage, $"'{host}' has no address");
        }

        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        RelayChatClient client;
        try
        {
            socket.ReceiveBufferSize = 4 << 20;
            socket.Connect(new IPEndPoint(address, port));

            // Non-blocking: the receive loop drains what is waiting without an exception or ioctl per datagram; a full send
            // buffer is like loss (the protocol retransmits).
            socket.Blocking = false;
            var core = new RelayClientOptions
            {
                ClientId = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)),
                Name = options.User,
                Read = options.Read,
                Write = options.Write,
                DelayMillis = (uint)Math.Clamp(options.Delay.TotalMilliseconds, 0, RelayWire.MaxDelayMillis),
                SinceKind = options.SinceKind,
                SinceValue = options.SinceValue,
                ReceiveCapacity = options.ReceiveCapacity,
                RegisterTimeoutMicros = (long)options.RegisterTimeout.TotalMicroseconds,
                MaxDatagram = options.MaxDatagram ?? (IPAddress.IsLoopback(address) ? RelayWire.MaxLargeDatagram : RelayWire.MaxDatagram),
                Token = ClientSecurity.Token(options.Token) is { } token ? System.Text.Encoding.UTF8.GetBytes(token) : [],
            };
            client = new RelayChatClient(socket, core, time ?? TimeProvider.System);
            client._host = host;
            client._port = port;
            client._options = options;
            if (!options.Insecure)
            {
                client._envelope = await HandshakeAsync(socket, client._clock, host, port, options, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        client._receiveLoop = Task.Run(client.ReceiveLoopAsync, CancellationToken.None);
        client._timer = client._clock.Time.CreateTimer(s => ((RelayChatClient)s!).OnTimer(), client, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        client.Kick();
        try
        {
            await client._registered.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return client;
    }

    /// <summary>
    /// Queues a line; waits while too many lines are unacknowledged. Throws <see cref="ArgumentException"/> for a line over the
    /// limit. A line posted while nothing else is unacknowledged leaves at once, on the caller's thread. Otherwise it leaves
    /// on a thread-pool flush: lines posted before that flush runs travel in one POST datagram (as many as fit), so a fast
    /// writer sends a datagram per batch instead of one per line, and a slow one pays no extra thread hop.
    /// </summary>
    public async ValueTask PostAsync(string line, CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = _changed.Task;
            RelaySubmitResult result;
            bool alone;
            lock (_lock)
            {
                ThrowIfFailed();
                result = _core.Submit(line, out _);
                alone = result == RelaySubmitResult.Ok && _core.UnacknowledgedLines == 1;
                if (alone)
                {
                    DrainLocked(_clock.NowMicros);
                }
            }

            switch (result)
            {
                case RelaySubmitResult.Ok:
                    if (!alone)
                    {
                        ScheduleFlush();
                    }

                    return;
                case RelaySubmitResult.TooLong:
                    throw new ArgumentException($"the line is {RelayClient.LineBytes(line)} bytes; the relay carries at most {RelayWire.MaxTextBytes} UTF-8 bytes per line (nothing was sent)", nameof(line));
                case RelaySubmitResult.QueueFull:
                    await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case RelaySubmitResult.NotWriter:
                    throw new InvalidOperationException("this client did not register as a writer");
                default:
                    throw _failure ?? new TransferException(ExitCode.Failure, "the relay client is closed");
            }
        }
    }

    /// <summary>Completes when every posted line is durably stored by the server.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = _changed.Task;
            lock (_lock)
            {
                ThrowIfFailed();
                if (_core.UnacknowledgedLines == 0)
                {
                    return;
                }
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The next message in sequence order.</summary>
    public async ValueTask<RelayMessage> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = _changed.Task;
            RelayMessage? message;
            lock (_lock)
            {
                if (_core.TryReadMessage(out message))
                {
                    // Reading may reopen the receive window: let that ACK go out now.
                    if (_core.AckDue)
                    {
                        DrainLocked(_clock.NowMicros);
                    }

                    return message!;
                }

                ThrowIfFailed();
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async IAsyncEnumerable<RelayMessage> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            yield return await ReadAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            _core.Close();
            DrainLocked(_clock.NowMicros);
            _disposed = true;
            _timer?.Dispose();
        }

        _stop.Cancel();
        _socket.Dispose();
        if (_receiveLoop is { } t)
        {
            try
            {
                await t.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
        _envelope?.Dispose();
        _rehandshake?.Dispose();
    }

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw _failure;
        }
    }

    private void ScheduleFlush()
    {
        if (Interlocked.Exchange(ref _flushQueued, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(s_flush, this, preferLocal: false);
        }
    }

    private void FlushQueued()
    {
        // Cleared before draining: a line posted while we drain schedules another flush instead of waiting for a timer.
        Volatile.Write(ref _flushQueued, 0);
        Kick();
    }

    private void Kick()
    {
        lock (_lock)
        {
            DrainLocked(_clock.NowMicros);
        }
    }

    /// <summary>One datagram from the server: opened when the session is encrypted, else straight to the core.</summary>
    private void ReceivedLocked(ReadOnlySpan<byte> datagram, long now)
    {
        if (_envelope is not null)
        {
            if (_rehandshake is not null && Envelope.IsEnvelope(datagram) && Envelope.ChannelOf(datagram) == _rehandshake.Channel)
            {
                FinishRehandshakeLocked(datagram);
                return;
            }

            if (_rehandshake is null && Envelope.TryReadRefused(datagram, out byte code, out _) && code == Envelope.RefusedUnknownChannel
                && Envelope.ChannelOf(datagram) == _envelope.Channel)
            {
                StartRehandshakeLocked(now);
                return;
            }

            if (_envelope.Handle(datagram, _openBuffer, out int length, out _, out _) == EnvelopeEvent.Opened)
            {
                _core.HandleDatagram(_openBuffer.AsSpan(0, length), now);
            }

            return;
        }

        if (Envelope.IsEnvelope(datagram))
        {
            // A cleartext client of a relay that requires encryption.
            if (datagram.Length > Envelope.HeaderSize && datagram[1] == Envelope.TypeRefused && datagram[Envelope.HeaderSize] == Envelope.RefusedEncryptionRequired)
            {
                _failure = new TransferException(ExitCode.Refused, "the relay requires encryption: drop --insecure");
                _registered.TrySetException(_failure);
            }

            return;
        }

        _core.HandleDatagram(datagram, now);
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = _receiveBuffer;
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.MessageSize)
            {
                // ICMP port unreachable (server not running or restarting): like loss; the timers decide.
                continue;
            }

            lock (_lock)
            {
                long now = _clock.NowMicros;
                ReceivedLocked(buffer.AsSpan(0, n), now);

                // Take what else is waiting without blocking (the socket is non-blocking; no exception, no ioctl per datagram).
                for (int i = 0; i < 64; i++)
                {
                    n = _socket.Receive(buffer, SocketFlags.None, out var error);
                    if (error == SocketError.WouldBlock)
                    {
                        break;
                    }

                    if (error == SocketError.Success)
                    {
                        ReceivedLocked(buffer.AsSpan(0, n), now);
                    }
                }

                DrainLocked(now);
            }

            _changed.Pulse();
        }
    }

    /// <summary>The timer fired: run the core's due timers (and a re-handshake's HELLO), then arm for the next wake-up.</summary>
    private void OnTimer()
    {
        bool ran = false;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _armedAt = long.MaxValue;
            long now = _clock.NowMicros;
            if (_core.NextWakeup() <= now)
            {
                _core.HandleTimeout(now);
                ran = true;
            }

            if (_rehandshake is not null && now - _rehandshakeSent > 300_000)
            {
                SendHelloLocked(now);
            }

            DrainLocked(now);
        }

        if (ran)
        {
            // Wake waiters only when a timer ran (a failure, a re-registration): an early or idle tick changes nothing.
            _changed.Pulse();
        }
    }

    /// <summary>Arms the timer when the core's next wake-up (or a re-handshake's retry) is earlier than what it is armed for.</summary>
    private void ArmLocked(long now)
    {
        long next = _core.NextWakeup();
        if (_rehandshake is not null)
        {
            next = Math.Min(next, _rehandshakeSent + 300_001);
        }

        if (next >= _armedAt || next == long.MaxValue || _disposed || _timer is null)
        {
            return;
        }

        _armedAt = next;

        // Whole milliseconds, at least one: a deadline the core does not move on (e.g. a BYE still to send) is retried once
        // a millisecond, as the old polling loop did, never in a spin.
        long ms = Math.Max(1, (next - now + 999) / 1000);
        _timer.Change(TimeSpan.FromMilliseconds(ms), Timeout.InfiniteTimeSpan);
    }

    private void DrainLocked(long now)
    {
        while (_core.TryPollEvent(out var e))
        {
            HandleEventLocked(e!);
        }

        int n;
        while ((n = _core.PollTransmit(_sendBuffer, now)) > 0)
        {
            ReadOnlySpan<byte> datagram = _sendBuffer.AsSpan(0, n);
            if (_rehandshake is not null)
            {
                continue; // the server cannot open it; the core retransmits once the new keys are there
            }

            if (_envelope is not null)
            {
                datagram = _sealBuffer.AsSpan(0, _envelope.Seal(datagram, _sealBuffer));
            }

            try
            {
                _socket.Send(datagram);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable
                or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.ConnectionReset)
            {
                // Like loss: retransmission or the timeout handles it.
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }

        while (_core.TryPollEvent(out var e))
        {
            HandleEventLocked(e!);
        }

        ArmLocked(now);
    }

    private void HandleEventLocked(RelayClientEvent e)
    {
        switch (e.Kind)
        {
            case RelayClientEventKind.Registered:
                _registered.TrySetResult(e.Info!);
                break;
            case RelayClientEventKind.Refused:
                _failure = new TransferException(ExitCode.Refused, $"the relay refused the registration: {e.Text}");
                _registered.TrySetException(_failure);
                break;
            case RelayClientEventKind.TimedOut:
                _failure = new TransferException(ExitCode.Timeout, e.Text);
                _registered.TrySetException(_failure);
                break;
            default:
                if (OnNotice is { } notice)
                {
                    ThreadPool.QueueUserWorkItem(_ => notice(e));
                }

                break;
        }
    }
}
