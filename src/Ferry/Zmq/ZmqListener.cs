using System.Net;
using System.Net.Sockets;
using Ferry.Hosting;
using Ferry.Protocol.Zmq;
using Ferry.Zmq.Native;

namespace Ferry.Zmq;

/// <summary>
/// zmq:// server: a ZeroMQ ROUTER on TCP speaking the HELLO / CHUNK / CLOSE upload protocol (docs/PROTOCOL.md),
/// over the shared file engine. Binds in the constructor so a taken port fails <c>ferry serve</c> at start.
/// </summary>
public sealed class ZmqListener : IProtocolListener
{
    private readonly ZmqContext _zmq;
    private readonly ZmqSocket _router;
    private ZmqZapHandler? _zap;
    private readonly ZmqServerShared _shared;
    private readonly ZmqSocketLoop _loop;
    private Task? _run;
    private CancellationTokenSource? _runCts;

    public ZmqListener(ServerContext context, int port, TimeProvider? time = null)
    {
        ZmqLibrary.EnsureAvailable();
        // libzmq encrypts and decrypts CURVE traffic on its I/O threads, one connection per thread: with several
        // cores, more than one thread lets many clients' uploads be decrypted in parallel.
        _zmq = new ZmqContext(ioThreads: Math.Clamp(Environment.ProcessorCount / 2, 1, 4));
        _router = _zmq.CreateSocket(ZmqSocketType.Router);
        try
        {
            _router.RouterMandatory = true;
            _router.MaxMessageSize = ZmqLimits.HardMaxFrameBytes;

            // Per connection: bounded queue of whole requests libzmq reads ahead (64 x 16 MiB worst case).
            _router.ReceiveHighWaterMark = 64;

            // Replies are tiny; room for every reply a client may be owed, so releasing a backlog at once (when a
            // slow request at its head completes) never overflows the queue of a client that does read.
            _router.SendHighWaterMark = ZmqLimits.MaxOwedPerClient + 1024;
            ConfigureSecurity(context);
            var bind = context.Options.Bind;
            _router.IPv6 = bind.AddressFamily == AddressFamily.InterNetworkV6;
            string host = bind.Equals(IPAddress.IPv6Any) || bind.Equals(IPAddress.Any) ? "*"
                : bind.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{bind}]" : bind.ToString();
            try
            {
                _router.Bind($"tcp://{host}:{(port == 0 ? "*" : port.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
            }
            catch (ZmqException e)
            {
                throw new SocketException((int)(e.Errno switch
                {
                    98 => SocketError.AddressAlreadyInUse,
                    99 => SocketError.AddressNotAvailable,
                    13 => SocketError.AccessDenied,
                    _ => SocketError.SocketError,
                }));
            }

            string last = _router.LastEndpoint;
            int boundPort = int.Parse(last.AsSpan(last.LastIndexOf(':') + 1), System.Globalization.CultureInfo.InvariantCulture);
            LocalEndPoint = new IPEndPoint(bind, boundPort);
        }
        catch
        {
            _zap?.Dispose();
            _router.Dispose();
            _zmq.Dispose();
            throw;
        }

        _shared = new ZmqServerShared(context, time ?? context.Options.Time, e => TransferEnded?.Invoke(e));
        _loop = new ZmqSocketLoop(_router, _shared, _zap);
    }

    /// <summary>The CURVE public key (Z85) clients must pin, or null when zmq:// runs plain (see <see cref="PlainReason"/>).</summary>
    public string? CurvePublicKey { get; private set; }

    /// <summary>Why zmq:// is not encrypted (null when it is).</summary>
    public string? PlainReason { get; private set; }

    /// <summary>Raised on an actor thread when a transfer ends (committed, aborted, expired, shutdown).</summary>
    public event Action<ZmqTransferEvent>? TransferEnded;

    public string Name => "zmq";

    public EndPoint LocalEndPoint { get; }

    /// <summary>Requests received so far.</summary>
    public long RequestsReceived => _loop.Received;

    /// <summary>Files held right now by open zmq:// transfers.</summary>
    public int OpenTransfers => _shared.Registry.HeldCount;

    /// <summary>Creates the listener, or logs why zmq:// is off and returns null when libzmq is not installed.</summary>
    public static ZmqListener? CreateOrExplain(ServerContext context, int port)
    {
        if (!ZmqLibrary.IsAvailable)
        {
            context.Info("zmq", "zmq:// disabled: " + ZmqLibrary.InstallHint);
            return null;
        }

        return new ZmqListener(context, port);
    }

    /// <summary>
    /// A ZeroMQ socket speaks one security mechanism per endpoint, so the port is either CURVE or plain: CURVE when
    /// the server has a key and libzmq has CURVE, unless <c>--insecure</c> asked for plain (the only way ZeroMQ
    /// clients without CURVE can upload). Security options must be set before the bind, which copies them.
    /// </summary>
    private void ConfigureSecurity(ServerContext context)
    {
        var options = context.Options;
        if (options.AllowInsecure)
        {
            PlainReason = "the server runs with --insecure (a zmq port is either CURVE or plain, and plain lets ZeroMQ clients without CURVE upload)";
        }
        else if (options.Identity is null)
        {
            PlainReason = "the server has no key";
        }
        else if (!ZmqCurve.IsAvailable)
        {
            PlainReason = ZmqCurve.MissingHint;
        }

        if (PlainReason is not null)
        {
            context.Warn("zmq", $"zmq:// is NOT encrypted: {PlainReason}. Clients must pass --insecure; anyone on the path can read and alter uploads and tokens.");
            return;
        }

        var key = ZmqServerCurveKey.Derive(options.Identity!);
        _router.SetCurveServer(key.Secret);
        CurvePublicKey = key.PublicZ85;

        // Bound before the ROUTER so that no handshake happens without it: it gives each connection its client key.
        _zap = new ZmqZapHandler(_zmq);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_run is not null)
        {
            throw new InvalidOperationException("already running");
        }

        _runCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var token = _runCts.Token;

        // zmq sockets belong to one thread: the loop gets a dedicated one rather than a pool thread.
        var thread = new Thread(() =>
        {
            try
            {
                _loop.Run(token);
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "ferry-zmq",
        };
        _run = done.Task;
        thread.Start();
        await _run.ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    public async ValueTask DisposeAsync()
    {
        if (_run is not null)
        {
            _runCts!.Cancel();
            try
            {
                await _run.ConfigureAwait(false);
            }
            catch (Exception e) when (e is ZmqException or OperationCanceledException)
            {
            }

            _runCts.Dispose();
        }
        else
        {
            _shared.Registry.Stop();
            await _shared.Registry.Completion.ConfigureAwait(false);
        }

        _loop.Dispose();
        _router.Dispose();
        _zap?.Dispose();
        _zmq.Dispose();
        _shared.Dispose();
    }
}
