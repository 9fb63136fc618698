using System.Runtime.InteropServices;
using System.Text;
using Ferry.Protocol.Zmq;
using Ferry.Zmq.Native;

namespace Ferry.Zmq;

/// <summary>
/// The one thread that touches the ROUTER socket. It only routes: receives a message, parses it (pure parser),
/// stamps it with its per-client sequence, and hands it to the transfer actor of (client, filename), creating
/// the actor at HELLO; replies come back through the outbox and leave in each client's arrival order. Malformed
/// requests are answered here directly (through the same ordering). Memory is bounded: frames over
/// <see cref="ZmqLimits.HardMaxFrameBytes"/> are refused by libzmq, and reading stops while the requests in the
/// actors' hands exceed <see cref="MaxInFlightBytes"/>.
/// </summary>
internal sealed class ZmqSocketLoop : IDisposable
{
    /// <summary>Bytes of requests handed to actors and not yet answered before the loop stops reading.</summary>
    public const long MaxInFlightBytes = 256L << 20;

    // Frames bigger than this move to the actor without a copy; smaller ones are copied (and the message reused).
    private const int DetachThreshold = 64 << 10;

    // Charged per request on top of its frames, so floods of tiny requests are bounded too.
    private const int RequestOverhead = 256;

    private const int ReceiveBatch = 256;

    private readonly ZmqSocket _router;
    private readonly ZmqServerShared _shared;
    private readonly ZmqZapHandler? _zap;
    private readonly ZmqReplySequencer<string, ZmqOutbound> _sequencer = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Client, string File), ZmqTransferActor> _routes = new();

    // Routes (one per filename in use) of each client: bounded so HELLOs for ever new names cannot pile up actors and files.
    private readonly Dictionary<string, int> _routesPerClient = new(StringComparer.Ordinal);
    private readonly ReadOnlyMemory<byte>[] _frames = new ReadOnlyMemory<byte>[ZmqLimits.MaxKeptFrames];
    private readonly List<ZmqFrameMemory> _owners = new();
    private readonly List<ZmqOutbound> _release = new();
    private readonly CancellationTokenSource _stopActors = new();
    private ZmqMessage _msg = new();
    private int _disposed;
    private long _inFlight;

    /// <param name="zap">With CURVE: the ZAP handler, served on this thread, that names each connection's client key.</param>
    public ZmqSocketLoop(ZmqSocket router, ZmqServerShared shared, ZmqZapHandler? zap = null)
    {
        _router = router;
        _shared = shared;
        _zap = zap;
    }

    /// <summary>Requests received (all clients).</summary>
    public long Received { get; private set; }

    /// <summary>Requests dropped unanswered because their client was owed <see cref="ZmqLimits.MaxOwedPerClient"/> replies.</summary>
    public long RequestsDropped { get; private set; }

    /// <summary>Replies libzmq refused (peer gone, or its queue full because it does not read).</summary>
    public long RepliesDropped { get; private set; }

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled, then stops every actor.</summary>
    public void Run(CancellationToken cancellationToken)
    {
        using var poller = new ZmqPoller(3);
        int routerIndex = poller.Add(_router);
        int wakeIndex = poller.Add(_shared.Wake, _shared.Wake.Fd);

        // Handshakes wait for the ZAP handler, so it is polled even while reading requests is paused.
        if (_zap is not null)
        {
            poller.Add(_zap.Socket);
        }
        using var registration = cancellationToken.Register(static s => ((EventFd)s!).Signal(), _shared.Wake);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                _shared.ResetWake();
                while (_zap?.TryServeOne() == true)
                {
                }

                DrainOutbox();
                int n = 0;
                while (_inFlight < MaxInFlightBytes && n < ReceiveBatch && TryReceiveOne())
                {
                    n++;
                }

                bool canRead = _inFlight < MaxInFlightBytes;
                poller.SetEvents(routerIndex, readable: canRead);
                poller.Poll(canRead && n == ReceiveBatch ? 0 : -1);
                if (poller.IsReadable(wakeIndex))
                {
                    _shared.Wake.Drain();
                }

            }
        }
        finally
        {
            Shutdown();
        }
    }

    private void Shutdown()
    {
        _stopActors.Cancel();
        var actors = _routes.Values.ToArray();
        _routes.Clear();
        foreach (var a in actors)
        {
            a.Complete();
        }

        // Actors abort their open transfers (temp data removed) and give their files back.
        Task.WaitAll(actors.Select(a => a.Completion).ToArray(), TimeSpan.FromSeconds(30));
        _shared.Registry.Stop();
        _shared.Registry.Completion.Wait(TimeSpan.FromSeconds(30));
        Dispose();
    }

    /// <summary>Releases the receive message and the actors' stop signal (after <see cref="Run"/>, or for a loop that never ran). Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _msg.Dispose();
        _stopActors.Dispose();
    }

    private void DrainOutbox()
    {
        while (_shared.Outbox.TryRead(out var o))
        {
            if (o.IdleActor is { } actor)
            {
                var key = (actor.Client, actor.FileName);

                // Retire it only if nothing was routed to it after the requests it has handled.
                if (_routes.TryGetValue(key, out var current) && ReferenceEquals(current, actor) && actor.Dispatched == o.Processed)
                {
                    _routes.Remove(key);
                    if (--CollectionsMarshal.GetValueRefOrNullRef(_routesPerClient, actor.Client) == 0)
                    {
                        _routesPerClient.Remove(actor.Client);
                    }

                    actor.Complete();
                }

                continue;
            }

            _inFlight -= o.ReleasedBytes;
            Complete(o);
        }
    }

    private void Complete(ZmqOutbound reply)
    {
        _release.Clear();
        _sequencer.Complete(reply.Client, reply.Sequence, reply, _release);
        foreach (var r in _release)
        {
            Send(r);
        }
    }

    private void Send(ZmqOutbound r)
    {
        byte[] identity = Encoding.Latin1.GetBytes(r.Client);
        if (!_router.TrySend(identity, more: true, dontWait: true))
        {
            RepliesDropped++;
            return;
        }

        if (r.Envelope)
        {
            _router.TrySend(ReadOnlySpan<byte>.Empty, more: true, dontWait: true);
        }

        if (r.Reply.IsReady)
        {
            _router.TrySend(ZmqReply.ReadyFrame.Span, more: false, dontWait: true);
        }
        else
        {
            _router.TrySend(ZmqReply.ErrorFrame.Span, more: true, dontWait: true);
            _router.TrySend(Encoding.UTF8.GetBytes(r.Reply.Error!), more: false, dontWait: true);
        }
    }

    private bool TryReceiveOne()
    {
        if (!_router.TryReceive(_msg, dontWait: true))
        {
            return false;
        }

        // Frame 0 is the routing id the ROUTER put in front; Latin-1 maps its bytes 1:1 to a string key.
        string client = Encoding.Latin1.GetString(_msg.Span);
        bool more = _msg.More;
        int count = 0;
        int bytes = RequestOverhead;
        bool envelope = false;
        string? peerAddress = null;
        string? identity = null;
        _owners.Clear();
        while (more)
        {
            // The rest of a multipart message is already here: libzmq delivers messages whole.
            _router.TryReceive(_msg, dontWait: false);
            more = _msg.More;
            int size = _msg.Size;
            if (count == 0 && !envelope && size == 0 && more)
            {
                // An empty first frame is the delimiter a REQ socket adds: accept it and echo it in the reply.
                envelope = true;
                continue;
            }

            if (count < _frames.Length)
            {
                if (count == 0)
                {
                    // Who sent it, beyond the routing id (anyone may claim a routing id once its connection is gone):
                    // the CURVE key our ZAP handler named, else the IP address.
                    identity = _zap is not null ? _msg.GetProperty("User-Id") : _msg.GetProperty("Peer-Address");
                    if (_msg.Span.SequenceEqual("HELLO"u8))
                    {
                        peerAddress = _zap is not null ? _msg.GetProperty("Peer-Address") : identity;
                    }
                }

                if (size > DetachThreshold)
                {
                    var owner = new ZmqFrameMemory(_msg);
                    _msg = new ZmqMessage();
                    _owners.Add(owner);
                    _frames[count] = owner.Memory;
                }
                else
                {
                    _frames[count] = _msg.Span.ToArray();
                }

                bytes += size;
            }

            count++;
        }

        Received++;
        Dispatch(client, count, envelope, bytes, peerAddress, identity);
        Array.Clear(_frames);
        return true;
    }

    private void Dispatch(string client, int count, bool envelope, int bytes, string? peerAddress, string? identity)
    {
        if (!_sequencer.TryArrive(client, out var arrival, out bool overLimit))
        {
            // Flooding without reading: no room left even for a refusal.
            DisposeOwners();
            RequestsDropped++;
            return;
        }

        var parsed = ZmqRequestParser.Parse(_frames.AsSpan(0, Math.Min(count, _frames.Length)), count);
        string? error = parsed.Error;
        ZmqTransferActor? actor = null;
        if (overLimit)
        {
            error = ZmqErrors.TooManyUnanswered;
        }
        else if (parsed.IsValid)
        {
            var r = parsed.Request;
            var key = (client, r.FileName);
            if (!_routes.TryGetValue(key, out actor))
            {
                if (r.Verb == ZmqVerb.Hello)
                {
                    _routesPerClient.TryGetValue(client, out int open);
                    if (open >= ZmqLimits.MaxOpenTransfersPerClient || _routes.Count >= ZmqLimits.MaxOpenTransfers)
                    {
                        error = ZmqErrors.TooManyTransfers(open >= ZmqLimits.MaxOpenTransfersPerClient);
                    }
                    else
                    {
                        actor = new ZmqTransferActor(_shared, client, r.FileName, _stopActors.Token);
                        _routes.Add(key, actor);
                        _routesPerClient[client] = open + 1;
                    }
                }
                else
                {
                    // Rule 1 without creating anything: no actor means no transfer of this file from this client.
                    error = ZmqErrors.NoTransfer(r.FileName);
                }
            }
        }

        if (actor is null)
        {
            DisposeOwners();
            Complete(new ZmqOutbound { Client = client, Sequence = arrival.Sequence, Reply = ZmqReply.Fail(error!), Envelope = envelope });
            return;
        }

        var inbound = new ZmqInbound
        {
            Client = client,
            PeerText = parsed.Request.Verb == ZmqVerb.Hello ? PeerText(client, peerAddress) : string.Empty,
            Request = parsed.Request,
            Arrival = arrival,
            Envelope = envelope,
            BudgetBytes = bytes,
            Owner = _owners.Count == 1 ? _owners[0] : null,
            PeerIdentity = identity,
        };
        if (_owners.Count > 1)
        {
            // Only the data frame of a valid request can be large; anything else was junk already rejected.
            DisposeOwners();
        }

        actor.Dispatched++;
        _inFlight += bytes;
        actor.Post(inbound);
    }

    private void DisposeOwners()
    {
        foreach (IDisposable o in _owners)
        {
            o.Dispose();
        }

        _owners.Clear();
    }

    private static string PeerText(string client, string? address) =>
        $"{address ?? "?"} id {Convert.ToHexStringLower(Encoding.Latin1.GetBytes(client))}";
}
