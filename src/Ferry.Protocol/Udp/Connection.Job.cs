using Ferry.Protocol.Common;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>
/// JOB_PUT and JOB_GET: many files in one connection. The manifest and the per-file messages travel on the control
/// streams (the application's business); the files' bytes are one job byte space that the ordinary data machinery moves
/// (ACCEPT's size is its length; HAVE, DATA, MAX_DATA and DATA_FIN as for one file). See docs/PROTOCOL.md, "Jobs on udp://".
/// </summary>
public sealed partial class Connection
{
    /// <summary>Most entries a job's REQUEST may announce.</summary>
    public const int MaxJobEntries = 1_000_000;

    // Client: the number of manifest entries (the REQUEST's size field).
    private long _jobEntries;

    // JOB_PUT client: the server's HAVE when it came before the application had its source ready.
    private RangeSet? _jobHave;

    // Sender: the ranges the receiver's HAVE listed (clipped to the transfer), once it came.
    private RangeSet? _receiverHad;

    /// <summary>Sender: the bytes the receiver held before this connection (its HAVE), once known; null before.</summary>
    public RangeSet? ReceiverHad => _receiverHad;

    /// <summary>Data bytes from offset 0 without a gap that the receiver holds (sender: acknowledged or in its HAVE; receiver: received).</summary>
    public long ContiguousBytesDone => _isDataSender ? _ackedData.ContiguousEnd(0) : _received.ContiguousEnd(0);

    /// <summary>
    /// Creates a client connection for a job (<see cref="TransferOp.JobPut"/> or <see cref="TransferOp.JobGet"/>) of
    /// <paramref name="entries"/> entries. The application writes the manifest with <see cref="WriteStream"/>, reads the
    /// server's statuses from <see cref="ConnectionEventKind.StreamData"/>, and after <see cref="ConnectionEventKind.Accepted"/>
    /// (whose size is the job's byte space) calls <see cref="StartSendingJob"/> (JOB_PUT) or <see cref="StartReceiving"/> (JOB_GET).
    /// </summary>
    /// <param name="uploadKey">JOB_PUT: the job's upload key (<see cref="FrameCodec.UploadKeyLength"/> bytes, sent in an UPLOAD_KEY before the REQUEST), from which each entry's upload key is derived (<see cref="EntryUploadKey"/>); null: none.</param>
    public static Connection CreateJobClient(
        ConnectionConfig config, ulong localId, TransferOp op, int entries, long now, string? accessToken = null, byte[]? uploadKey = null, long? rateLimit = null)
    {
        if (!op.IsJob() || entries is < 1 or > MaxJobEntries)
        {
            throw new ArgumentException($"a job client needs JOB_PUT or JOB_GET and 1..{MaxJobEntries} entries");
        }

        var c = new Connection(config, isClient: true, localId, now)
        {
            _op = op,
            _path = string.Empty,
            _jobEntries = entries,
            _isDataSender = op == TransferOp.JobPut,
            _accessToken = accessToken ?? string.Empty,
            _uploadKey = op == TransferOp.JobPut && uploadKey?.Length == FrameCodec.UploadKeyLength ? uploadKey : null,
        };
        c.InitRateLimit(rateLimit);
        c.StartClientHandshake();
        return c;
    }

    /// <summary>
    /// The upload key of one entry of a JOB_PUT whose REQUEST came with <paramref name="jobKey"/>: the first 16 bytes of
    /// SHA-256(job key, then the entry's path in UTF-8). A re-run of the same job (same key) takes over its own
    /// interrupted uploads at once, path by path.
    /// </summary>
    public static byte[] EntryUploadKey(ReadOnlySpan<byte> jobKey, string path)
    {
        var input = new byte[jobKey.Length + System.Text.Encoding.UTF8.GetByteCount(path)];
        jobKey.CopyTo(input);
        System.Text.Encoding.UTF8.GetBytes(path, input.AsSpan(jobKey.Length));
        return System.Security.Cryptography.SHA256.HashData(input)[..FrameCodec.UploadKeyLength];
    }

    /// <summary>
    /// Server: accepts the pending job once its manifest was judged. <paramref name="jobSize"/> is the job's byte space
    /// (the accepted files end to end). JOB_GET: <paramref name="source"/> reads it (the client's HAVE starts the data).
    /// JOB_PUT: <paramref name="sink"/> takes it; <paramref name="have"/> are the job-space bytes already here (resume).
    /// </summary>
    public void AcceptJob(long jobSize, IDataSource? source, IDataSink? sink, RangeSet? have)
    {
        if (!IsClient && State is ConnectionState.Closing or ConnectionState.Closed)
        {
            return;
        }

        if (IsClient || State != ConnectionState.Handshake || !_op.IsJob())
        {
            throw new InvalidOperationException("AcceptJob is for a server connection with a pending job");
        }

        State = ConnectionState.Established;
        _size = jobSize;
        _identitySize = jobSize;
        _identityMtime = 0;
        _earlyHave = null;
        if (_op == TransferOp.JobGet)
        {
            _source = source ?? throw new ArgumentNullException(nameof(source));
            Queue(ControlFrames.Accept);
        }
        else
        {
            StartReceivingCore(sink ?? throw new ArgumentNullException(nameof(sink)), have);
            Queue(ControlFrames.Accept | ControlFrames.Have | ControlFrames.MaxData);
        }
    }

    /// <summary>JOB_PUT client, after ACCEPT and the server's statuses: the job's bytes come from <paramref name="source"/>.</summary>
    public void StartSendingJob(IDataSource source)
    {
        if (State is ConnectionState.Closing or ConnectionState.Closed)
        {
            return;
        }

        if (!IsClient || _op != TransferOp.JobPut || State != ConnectionState.Established || _source is not null)
        {
            throw new InvalidOperationException("StartSendingJob is for an accepted JOB_PUT client, once");
        }

        _source = source;
        if (_jobHave is { } have)
        {
            _jobHave = null;
            StartSending(have);
        }
    }

    /// <summary>
    /// Closes the connection at the normal end of a job (this side read the peer's DONE): CLOSE with code 0, sent three
    /// times, since nothing answers it.
    /// </summary>
    public void FinishJob(long now)
    {
        Close(TransferError.None, "done", now);
        _extraCloseCopies = 2;
    }

    /// <summary>
    /// Receiver: looks again at how far the sender may go (a <see cref="ILimitedDataSink"/> moves its limit as files
    /// are finished off this loop) and advertises it when it grew enough. Cheap; the shells call it once per loop.
    /// </summary>
    public void RefreshFlowLimit()
    {
        if (_isDataSender || _sink is null || State != ConnectionState.Established)
        {
            return;
        }

        MaybeAdvertiseMaxData();
    }
}
