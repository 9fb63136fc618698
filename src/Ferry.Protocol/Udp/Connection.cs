using Ferry.Protocol.Common;
using Ferry.Protocol.Security;
using Ferry.Protocol.Udp.Congestion;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

public enum ConnectionState
{
    /// <summary>Client: REQUEST sent, waiting for ACCEPT. Server: REQUEST received, waiting for the application.</summary>
    Handshake,
    Established,

    /// <summary>This side sent CLOSE; it answers stray packets with CLOSE until the closing period ends.</summary>
    Closing,
    Closed,
}

/// <summary>
/// One Ferry UDP connection transferring one file, as a pure state machine (sans-IO): feed it packets and
/// timeouts with the current time, poll it for datagrams to send, the next wake-up time and events.
/// It never reads a clock, touches a socket or opens a file; file bytes flow through <see cref="IDataSource"/>
/// and <see cref="IDataSink"/>. See docs/PROTOCOL.md for the wire format and docs/ARCHITECTURE.md for the loop.
/// </summary>
public sealed partial class Connection : IDisposable
{
    private readonly ConnectionConfig _config;
    private readonly Queue<ConnectionEvent> _events = new();
    private readonly SentPacketLedger _ledger = new();
    private readonly AckTracker _acks;
    private readonly RttEstimator _rtt;
    private readonly AckRange[] _ackScratch = new AckRange[FrameCodec.MaxAckRanges + 1];
    private ICongestionController _cc;
    private Pacer _pacer;
    private int _maxDatagram;
    private ulong _nextPn;
    private long _idleDeadline;

    // Reliable control frames: "needed" until acknowledged, "pending" while waiting to be (re)sent.
    private ControlFrames _neededControls;
    private ControlFrames _pendingControls;

    // Handshake.
    private byte[] _token = Array.Empty<byte>();

    // Secure channel (Connection.Security.cs).
    private ClientHandshake? _clientHandshake;
    private byte[]? _serverHello;
    private SessionKeys? _keys;
    private bool _helloReceived;
    private bool _insecureSession;
    private bool _offerStatelessHello;
    private string _accessToken = string.Empty;
    private byte[]? _plain;

    // The transfer.
    private TransferOp _op;
    private string _path = string.Empty;
    private long _size;
    private long _identitySize;
    private long _identityMtime;
    private bool _isDataSender;

    // Upload: the client's upload key (client: sent once with the first REQUEST the server acts on; server: received
    // before the REQUEST). A server older than UPLOAD_KEY drops the packet that carries it, so the REQUEST's later
    // copies go without it.
    private byte[]? _uploadKey;
    private bool _uploadKeySent;

    // Upload or MKDIR: the permission bits the result gets (-1: none), sent and received as the upload key is.
    private int _fileMode = -1;
    private bool _fileModeSent;

    // Client GET that opens its destination from inside ACCEPT (ReceiveOnAccept); server GET: the HAVE that came
    // with the REQUEST, used when the application accepts.
    private Func<ConnectionEvent, (IDataSink Sink, RangeSet? Have)?>? _openOnAccept;
    private RangeSet? _earlyHave;

    // Closing.
    private TransferError _closeCode;
    private string _closeMessage = string.Empty;
    private bool _sendClose;
    private long _closeDeadline = long.MaxValue;
    private int _closeRepeats;
    private int _extraCloseCopies;
    private bool _closeWithResult;

    private Connection(ConnectionConfig config, bool isClient, ulong localId, long now)
    {
        _config = config;
        IsClient = isClient;
        LocalId = localId;
        _maxDatagram = Math.Clamp(config.MaxDatagram, Packet.MinMaxDatagram, Packet.MaxMaxDatagram);
        _acks = new AckTracker(config.AckEveryPackets, config.MaxAckDelay);
        _rtt = new RttEstimator(config.InitialRtt);
        _cc = config.CreateController(_maxDatagram);
        _pacer = new Pacer(_maxDatagram);
        _idleDeadline = now + config.IdleTimeout;
        _received = new RangeSet();
    }

    public bool IsClient { get; }

    public ulong LocalId { get; }

    /// <summary>The peer's connection id (client: learned from ACCEPT).</summary>
    public ulong RemoteId { get; private set; }

    public ConnectionState State { get; private set; } = ConnectionState.Handshake;

    /// <summary>Server side: the validated address of the client (opaque to the protocol).</summary>
    public PeerAddress Peer { get; internal set; }

    public ConnectionStats Stats { get; } = new();

    public TransferOp Op => _op;

    public string Path => _path;

    /// <summary>The file size, once known (PUT: from the start; GET: after ACCEPT).</summary>
    public long Size => _size;

    /// <summary>Negotiated largest datagram.</summary>
    public int MaxDatagram => _maxDatagram;

    public string CongestionControllerName => _cc.Name;

    public long CongestionWindow => _cc.CongestionWindow;

    public long PacingRate => _cc.PacingRate;

    public long SmoothedRtt => _rtt.Smoothed;

    public long MinRtt => _rtt.MinOrInitial;

    public long BytesInFlight => _bytesInFlight;

    /// <summary>Data bytes the receiver holds (sender: acknowledged; receiver: received), including resumed ones.</summary>
    public long BytesDone => _isDataSender ? _ackedData.TotalLength : _received.TotalLength;

    /// <summary>Bytes that were already at the receiver before this connection (resume).</summary>
    public long ResumedBytes => _haveAtStart;

    /// <summary>Creates a client connection that asks for <paramref name="op"/> on <paramref name="path"/>.</summary>
    /// <param name="size">PUT: the file size. GET: ignored.</param>
    /// <param name="source">PUT: the local file. GET: null.</param>
    /// <param name="accessToken">Access token for the server ("" or null: anonymous); sent only once the channel is encrypted (or in cleartext with <c>--insecure</c>).</param>
    /// <param name="uploadKey">PUT: the client's upload key (<see cref="FrameCodec.UploadKeyLength"/> bytes), which lets a re-run take its own interrupted upload over at once; null: none.</param>
    /// <param name="fileMode">PUT, MKDIR: the permission bits (0..<see cref="FrameCodec.MaxFileMode"/>) the result gets on the server; null: the server's default.</param>
    /// <param name="rateLimit">The rate limit asked for in a RATE_LIMIT frame, bit/s (0: none, but the server tells its own); null: no frame.</param>
    public static Connection CreateClient(
        ConnectionConfig config, ulong localId, TransferOp op, string path, long size, long identityMtime, IDataSource? source, long now,
        string? accessToken = null, byte[]? uploadKey = null, int? fileMode = null, long? rateLimit = null)
    {
        var c = new Connection(config, isClient: true, localId, now)
        {
            _op = op,
            _path = path,
            _size = op is TransferOp.Put or TransferOp.List ? size : 0, // LIST: the listing flags until ACCEPT tells the size
            _identitySize = op == TransferOp.Put ? size : 0,
            _identityMtime = identityMtime,
            _isDataSender = !op.IsDownload(), // PUT, and MKDIR (an empty file)
            _source = source,
            _accessToken = accessToken ?? string.Empty,
            _uploadKey = op == TransferOp.Put && uploadKey?.Length == FrameCodec.UploadKeyLength ? uploadKey : null,
            _fileMode = !op.IsDownload() && fileMode is >= 0 and <= FrameCodec.MaxFileMode ? fileMode.Value : -1,
        };
        int request = FrameCodec.RequestSize(c._maxDatagram, path, c._size, c._identitySize, identityMtime, c._accessToken);
        if (request > MaxRequestBytes)
        {
            // It could never be sent: the REQUEST travels in one 1200-byte Initial. Say so now instead of timing out.
            c.EnterClosed(TransferError.InvalidPath,
                $"path too long for udp:// ({System.Text.Encoding.UTF8.GetByteCount(path)} bytes): the request must fit in one {Packet.MinInitialSize}-byte packet; "
                + $"shorten the path by {request - MaxRequestBytes} bytes or more", byPeer: false, notify: true);
            return c;
        }

        c.InitRateLimit(rateLimit);
        c.StartClientHandshake();
        return c;
    }

    /// <summary>
    /// Largest REQUEST frame a client sends: what a protected 1200-byte Initial holds after its header and the longest
    /// token (so it fits whatever token the server hands out). A path of about 950 bytes, with an access token.
    /// </summary>
    public const int MaxRequestBytes = Packet.MinInitialSize - Packet.HeaderSize - 10 - Packet.MaxTokenLength - Packet.TagSize;

    internal static Connection CreateServer(ConnectionConfig config, ulong localId, ulong clientId, PeerAddress peer, long now)
    {
        return new Connection(config, isClient: false, localId, now) { RemoteId = clientId, Peer = peer };
    }

    /// <summary>Next event for the application, if any.</summary>
    public bool TryPollEvent(out ConnectionEvent ev) => _events.TryDequeue(out ev!);

    /// <summary>Server: accept the pending request.</summary>
    /// <param name="fileSize">GET: the file's size. PUT: ignored (the client's size is used).</param>
    /// <param name="identityMtime">GET: the file's modification time for the client's resume check.</param>
    /// <param name="source">GET: the file to send.</param>
    /// <param name="sink">PUT: where received bytes go.</param>
    /// <param name="have">PUT: byte ranges already stored from an interrupted upload (resume).</param>
    public void Accept(long fileSize, long identityMtime, IDataSource? source, IDataSink? sink, RangeSet? have)
    {
        if (!IsClient && State is ConnectionState.Closing or ConnectionState.Closed)
        {
            // The peer's packet that carried the REQUEST also closed the connection (a CLOSE or a violating frame
            // after it): its Closed event is queued behind RequestReceived. Nothing to accept.
            return;
        }

        if (IsClient || State != ConnectionState.Handshake)
        {
            throw new InvalidOperationException("Accept is for a server connection with a pending request");
        }

        State = ConnectionState.Established;
        if (_op.IsDownload())
        {
            _size = fileSize;
            _identitySize = fileSize;
            _identityMtime = identityMtime;
            _source = source ?? throw new ArgumentNullException(nameof(source));
            Queue(ControlFrames.Accept);
            if (_earlyHave is { } early)
            {
                // The client sent its HAVE with the REQUEST (a fresh download): data follows ACCEPT at once instead of
                // a round trip later. Its ranges could not be checked against the size before now.
                _earlyHave = null;
                if (early.Count > 0 && early[early.Count - 1].End > fileSize)
                {
                    ProtocolViolation($"HAVE lists bytes past the end of the file ({fileSize} bytes)", _lastNow);
                    return;
                }

                StartSending(early);
            }
        }
        else
        {
            _identityMtime = identityMtime;
            StartReceivingCore(sink ?? throw new ArgumentNullException(nameof(sink)), have);
            Queue(ControlFrames.Accept | ControlFrames.Have | ControlFrames.MaxData);
            ReplayEarlyData();
        }
    }

    /// <summary>Server: refuse the pending request with a code the client turns into a clear error.</summary>
    public void Reject(TransferError code, string message, long now) => Close(code, message, now);

    /// <summary>Client GET: after <see cref="ConnectionEventKind.Accepted"/>, start receiving into <paramref name="sink"/>.</summary>
    public void StartReceiving(IDataSink sink, RangeSet? have)
    {
        if (IsClient && State is ConnectionState.Closing or ConnectionState.Closed)
        {
            // The packet that carried ACCEPT also closed the connection; the Closed event follows Accepted.
            return;
        }

        if (!IsClient || !_op.IsDownload() || State != ConnectionState.Established)
        {
            throw new InvalidOperationException("StartReceiving is for an accepted client GET");
        }

        StartReceivingCore(sink, have);
        Queue(ControlFrames.Have | ControlFrames.MaxData);
    }

    /// <summary>
    /// Client GET, before the first packet leaves: ask the server to start sending at once. The REQUEST goes out with
    /// an empty HAVE and a MAX_DATA of one receive window, so the server's data follows its ACCEPT without waiting a
    /// round trip for the HAVE; <paramref name="open"/> is called from inside the handling of ACCEPT (with the
    /// Accepted event) and returns where the bytes go and what is already there, or null to give up (the connection
    /// then closes with CANCELLED). Meant for a destination with nothing to resume: a partial file's ranges need the
    /// file's identity, which only ACCEPT brings, so a resuming client uses <see cref="StartReceiving"/> instead (if
    /// <paramref name="open"/> finds ranges after all, they are sent in a second HAVE, and the server, already
    /// sending, sends them again: harmless duplicates). An old server ignores the early HAVE and waits for the one
    /// this connection sends after ACCEPT.
    /// </summary>
    public void ReceiveOnAccept(Func<ConnectionEvent, (IDataSink Sink, RangeSet? Have)?> open)
    {
        if (IsClient && State == ConnectionState.Closed)
        {
            // Failed before anything was sent (a REQUEST too large to send): its Closed event says why.
            return;
        }

        if (!IsClient || !_op.IsDownload() || State != ConnectionState.Handshake || _openOnAccept is not null)
        {
            throw new InvalidOperationException("ReceiveOnAccept is for a client GET before its ACCEPT, once");
        }

        _openOnAccept = open;
        _maxDataAdvertised = _config.ReceiveWindow;
        if (((_neededControls | _pendingControls) & ControlFrames.Request) != 0)
        {
            // The REQUEST is already queued (cleartext sessions queue it with HELLO): the HAVE goes with it.
            Queue(ControlFrames.Have | ControlFrames.MaxData);
        }
    }

    /// <summary>Receiver: report the outcome of verification (None: stored and verified).</summary>
    public void FinishReceive(TransferError code, string message)
    {
        _resultCode = code;
        _resultMessage = message;
        Queue(ControlFrames.Result);
    }

    /// <summary>
    /// Client GET: report the outcome and close at once. The file is verified and stored (or known bad), so nothing
    /// the server could still send matters: one packet carrying RESULT and CLOSE goes out three times and the client
    /// is done, a round trip sooner than waiting for the RESULT to be acknowledged. A server that misses all three
    /// copies still has its file; it times out the connection.
    /// </summary>
    public void FinishReceiveAndClose(TransferError code, string message, long now)
    {
        if (!IsClient || !_op.IsDownload())
        {
            throw new InvalidOperationException("FinishReceiveAndClose is for a client GET");
        }

        _resultCode = code;
        _resultMessage = message;
        _neededControls = ControlFrames.None;
        _pendingControls = ControlFrames.None;
        Close(code, message, now);
        _closeWithResult = true;
        _extraCloseCopies = 2;
    }

    /// <summary>Closes the connection at once with <paramref name="code"/> (CLOSE frame, then a short closing period).</summary>
    public void Close(TransferError code, string message, long now)
    {
        if (State is ConnectionState.Closing or ConnectionState.Closed)
        {
            return;
        }

        _closeCode = code;
        _closeMessage = message;
        _sendClose = true;
        State = ConnectionState.Closing;
        _closeDeadline = now + 3 * _rtt.ProbeTimeout(_config.MaxAckDelay);
        _events.Enqueue(new ConnectionEvent(ConnectionEventKind.Closed) { Code = code, Message = message, ByPeer = false });
    }

    /// <summary>
    /// Server endpoint: forgets this half-open connection at once (evicted or its handshake timed out): no CLOSE
    /// of its own, no closing period, no event (the application never saw it: it had no REQUEST).
    /// </summary>
    internal void Abandon()
    {
        State = ConnectionState.Closed;
        _events.Clear();
        _neededControls = ControlFrames.None;
        _pendingControls = ControlFrames.None;
        DisposeKeys();
    }

    /// <summary>
    /// Releases the connection's secrets (handshake key, packet keys) now; a connection releases them itself when it
    /// closes, so this matters for one its owner drops while it is still open. Idempotent.
    /// </summary>
    public void Dispose() => DisposeKeys();

    /// <summary>Server endpoint: this connection's place in the list of half-open connections (null once it has its REQUEST).</summary>
    internal LinkedListNode<Connection>? HalfOpenNode { get; set; }

    /// <summary>Server endpoint: when a half-open connection is forgotten unless its REQUEST arrives.</summary>
    internal long HandshakeDeadline { get; set; }

    private void Queue(ControlFrames frames)
    {
        _neededControls |= frames;
        _pendingControls |= frames;
    }

    private void EnterClosed(TransferError code, string message, bool byPeer, bool notify)
    {
        if (State == ConnectionState.Closed)
        {
            return;
        }

        bool wasClosing = State == ConnectionState.Closing;
        State = ConnectionState.Closed;
        DisposeKeys();
        if (notify && !wasClosing)
        {
            _events.Enqueue(new ConnectionEvent(ConnectionEventKind.Closed) { Code = code, Message = message, ByPeer = byPeer });
        }
    }
}
