using System.Threading.Channels;
using Ferry.Hosting;
using Ferry.Zmq.Native;

namespace Ferry.Zmq;

/// <summary>
/// What the zmq:// actors share: the clock, settings, the registry actor's address, and the socket loop's outbox
/// with its wake-up descriptor. Only channels and immutable values here: no lock is shared between actors.
/// </summary>
internal sealed class ZmqServerShared : IDisposable
{
    private readonly ServerContext _context;
    private readonly Channel<ZmqOutbound> _outbox = Channel.CreateUnbounded<ZmqOutbound>(new UnboundedChannelOptions { SingleReader = true });
    private readonly long _epoch;
    private readonly Action<ZmqTransferEvent>? _ended;
    private int _wakePending;

    public ZmqServerShared(ServerContext context, TimeProvider time, Action<ZmqTransferEvent>? ended)
    {
        _context = context;
        Time = time;
        _epoch = time.GetTimestamp();
        _ended = ended;
        IdleTimeout = context.Options.ZmqIdleTimeout;
        MaxFileSize = context.Files.Options.MaxFileSize;
        Registry = new ZmqRegistryActor(context.Transfers);
        Transfers = context.Transfers;
    }

    /// <summary>The server side of every transfer: who may upload what (checked at HELLO), the log lines.</summary>
    public TransferService Transfers { get; }

    public TimeProvider Time { get; }

    /// <summary>Monotonic time since the server started; what the pure sessions get as "now".</summary>
    public TimeSpan Now => Time.GetElapsedTime(_epoch);

    public TimeSpan IdleTimeout { get; }

    public long MaxFileSize { get; }

    public ZmqRegistryActor Registry { get; }

    /// <summary>Signalled when the outbox gets something while the socket loop may be asleep in zmq_poll.</summary>
    public EventFd Wake { get; } = new();

    public ChannelReader<ZmqOutbound> Outbox => _outbox.Reader;

    /// <summary>Hands a reply or notice to the socket loop (any thread) and wakes it if it may be polling.</summary>
    public void Post(ZmqOutbound message)
    {
        _outbox.Writer.TryWrite(message);

        // One eventfd write per wake-up, however many actors post meanwhile.
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            Wake.Signal();
        }
    }

    /// <summary>Socket loop, before draining the outbox: posts after this will signal again.</summary>
    public void ResetWake() => Interlocked.Exchange(ref _wakePending, 0);

    public void Log(string message) => _context.Info("zmq", message);

    public void Ended(ZmqTransferEvent e) => _ended?.Invoke(e);

    public void Dispose() => Wake.Dispose();
}
