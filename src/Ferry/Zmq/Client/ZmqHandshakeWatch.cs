using Ferry.Timing;
using Ferry.Transfers;
using Ferry.Zmq.Native;

namespace Ferry.Zmq.Client;

/// <summary>
/// Turns a failed ZeroMQ handshake into a clear error at once. libzmq never reports it to the socket: it closes
/// the connection and retries every 100 ms forever, so without this a client with the wrong CURVE key, or a plain
/// client at a CURVE server (and the reverse), would sit until its timeout. The socket monitor tells which:
/// <list type="bullet">
/// <item>a mechanism mismatch report: one side is CURVE and the other plain;</item>
/// <item>repeated silent closes during the handshake. Usually that is the mismatch too: the side that detects it
///   closes before its own greeting is flushed, so the peer only sees EPIPE or a reset. To tell the cases apart, a
///   CURVE client then probes with a plain handshake (no message is sent): if that succeeds the server is plain,
///   otherwise it is a CURVE server that could not open our HELLO box, i.e. it does not hold the key we used.</item>
/// </list>
/// It also reports a server that closes an established connection (it stopped), which libzmq hides the same way.
/// </summary>
internal sealed class ZmqHandshakeWatch : IDisposable
{
    // One silent close can be a coincidence (a server restarting); two in a row (100 ms apart) are not.
    private const int SilentClosesBeforeFailing = 2;

    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(10);

    private const int Events = LibZmq.ZMQ_EVENT_HANDSHAKE_SUCCEEDED | LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
        | LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | LibZmq.ZMQ_EVENT_DISCONNECTED;

    private readonly ZmqMonitor _monitor;
    private readonly ZmqContext _context;
    private readonly string _endpoint;
    private readonly bool _ipv6;
    private readonly ZmqServerKey? _key;
    private readonly string _server;
    private readonly ShellClock _clock;
    private int _silentCloses;

    /// <param name="server">host:port for messages.</param>
    /// <param name="endpoint">The zmq endpoint ("tcp://host:port"), for the plain probe.</param>
    /// <param name="key">The CURVE key in use; null for a plain connection.</param>
    public ZmqHandshakeWatch(ZmqContext context, ZmqSocket socket, string server, string endpoint, bool ipv6, ZmqServerKey? key, ShellClock clock)
    {
        _clock = clock;
        _monitor = new ZmqMonitor(context, socket, Events);
        _context = context;
        _endpoint = endpoint;
        _ipv6 = ipv6;
        _server = server;
        _key = key;
    }

    /// <summary>True once a handshake completed (the server holds the key, for CURVE).</summary>
    public bool Succeeded { get; private set; }

    /// <summary>Reads the pending events; throws <see cref="TransferException"/> when the handshake failed for certain.</summary>
    public void Check()
    {
        while (_monitor.TryRead(out int e, out int value))
        {
            switch (e)
            {
                case LibZmq.ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
                    Succeeded = true;
                    _silentCloses = 0;
                    break;
                case LibZmq.ZMQ_EVENT_DISCONNECTED when Succeeded:
                    // The server closed an established connection: it stopped or restarted (a zmq:// transfer lives in
                    // the server's memory only, so it is gone). Say so now instead of waiting --timeout for a reply.
                    throw new TransferException(ExitCode.Timeout,
                        $"{_server} closed the connection mid-transfer (the server stopped or restarted); {Failures.RestartHint}");
                case LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL when value == LibZmq.ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
                    throw MechanismMismatch();
                case LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
                    throw _key is null
                        ? new TransferException(ExitCode.Failure, $"the ZeroMQ handshake with {_server} failed (protocol error 0x{value:x}): is it a Ferry zmq:// server?")
                        : WrongKey();
                case LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
                    throw new TransferException(ExitCode.Refused, $"{_server} refused the connection during the handshake (ZAP status {value})");
                case LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL when ++_silentCloses >= SilentClosesBeforeFailing:
                    if (_key is null)
                    {
                        throw new TransferException(ExitCode.Refused,
                            $"{_server} closes every connection during the ZeroMQ handshake: it requires CURVE encryption (drop --insecure " +
                            "and pass --server-key KEY with the 'zmq CURVE key' that 'ferry serve' printed), or it is not a Ferry zmq:// server");
                    }

                    throw PlainHandshakeWorks() ? MechanismMismatch() : WrongKey();
            }
        }
    }

    public void Dispose() => _monitor.Dispose();

    /// <summary>Whether a plain (NULL mechanism) handshake with the server completes; nothing is sent over it.</summary>
    private bool PlainHandshakeWorks()
    {
        using var probe = _context.CreateSocket(ZmqSocketType.Dealer);
        probe.IPv6 = _ipv6;
        using var monitor = new ZmqMonitor(_context, probe, Events);
        probe.Connect(_endpoint);
        long deadline = _clock.NowMicros + (long)s_probeTimeout.TotalMicroseconds;
        int failures = 0;
        while (_clock.NowMicros < deadline && failures < SilentClosesBeforeFailing)
        {
            if (!monitor.TryRead(out int e, out _, waitMs: 100))
            {
                continue;
            }

            if (e == LibZmq.ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            {
                return true;
            }

            if (e is LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL or LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL or LibZmq.ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            {
                failures++;
            }
        }

        return false;
    }

    private TransferException MechanismMismatch() => _key is null
        ? new TransferException(ExitCode.Refused,
            $"the zmq:// server at {_server} requires CURVE encryption and refuses cleartext: drop --insecure " +
            "(and pass --server-key KEY with the 'zmq CURVE key' that 'ferry serve' printed, unless it is pinned already)")
        : new TransferException(ExitCode.Refused,
            $"the zmq:// server at {_server} does not use CURVE encryption (it runs with --insecure, or its libzmq lacks CURVE): " +
            "pass --insecure to upload in cleartext");

    private TransferException WrongKey() => new(ExitCode.ServerKeyMismatch,
        $"the CURVE handshake with {_server} failed: the server does not hold the key '{_key!.Z85}' (from {_key.Origin}). Its key may " +
        $"have changed (a new state directory), someone may be intercepting the connection, or it is not a Ferry zmq:// server " +
        $"(or one started with --insecure, which needs --insecure here). " +
        $"If you trust the server, pass --server-key with the 'zmq CURVE key' that 'ferry serve' prints now" +
        (_key.Origin == "--server-key" ? "." : $" and remove the line for {_key.KnownHostsName} from {_key.Origin} ('ferry known-hosts remove {_key.KnownHostsName}')."));
}
