using Ferry.Files;
using Ferry.Hosting;
using Ferry.Protocol.Common;
using Ferry.Protocol.Jobs;
using Ferry.Protocol.Tcp;
using Ferry.Tcp;
using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>
/// The server's side of a job of many files (JOB_PUT, JOB_GET), whatever carries it: judges the manifest entry by entry
/// (the token on each path, the file engine's verdict) into STATUS records, lays the accepted files end to end
/// (<see cref="JobLayout"/>) with the bytes already here (JOB_PUT resume), and builds the <see cref="JobSink"/> or
/// <see cref="JobSource"/> that the scheme's session feeds. Codes are the job frames' (<see cref="TcpErrorCode"/>).
/// </summary>
public sealed class ServerJob
{
    private readonly ServerContext _context;
    private readonly List<(int Index, RangeSet Ranges)> _presentByFile = new();
    private readonly long[] _sizes;

    /// <param name="session">The job's own request (protocol, peer, token); each entry is authorized as its own request.</param>
    public ServerJob(ServerContext context, TransferRequest session, IReadOnlyList<TcpJobEntry> entries, bool put)
    {
        _context = context;
        Session = session;
        Entries = entries;
        Put = put;
        Requests = new TransferRequest[entries.Count];
        Statuses = new List<TcpEntryStatus>(entries.Count);
        _sizes = new long[entries.Count];
    }

    public TransferRequest Session { get; }

    public IReadOnlyList<TcpJobEntry> Entries { get; }

    public bool Put { get; }

    /// <summary>Each entry as the transfer service takes it (set as entries are judged).</summary>
    public TransferRequest[] Requests { get; }

    /// <summary>The verdicts so far, in index order.</summary>
    public List<TcpEntryStatus> Statuses { get; }

    /// <summary>Set by <see cref="Lay"/>: the accepted files end to end.</summary>
    public JobLayout Layout { get; private set; } = new JobLayout([]);

    /// <summary>Set by <see cref="Lay"/>: job-space bytes the server already holds (JOB_PUT).</summary>
    public RangeSet Present { get; } = new();

    /// <summary>Set by <see cref="Lay"/>: the accepted entries that are files.</summary>
    public List<int> AcceptedFiles { get; private set; } = new();

    /// <summary>Set by <see cref="Lay"/>: the accepted entries.</summary>
    public int Accepted { get; private set; }

    /// <summary>True once every entry has its verdict.</summary>
    public bool Judged => Statuses.Count == Entries.Count;

    /// <summary>Judges the next entry and appends its STATUS record.</summary>
    public void JudgeNext()
    {
        int i = Statuses.Count;
        var e = Entries[i];
        var request = new TransferRequest(Session.Protocol, Session.Peer, Put ? TransferOperation.Put : TransferOperation.Get, e.Path, Session.Token);
        Requests[i] = request;
        var status = Judge(request, e, out var ranges);
        Statuses.Add(status with { Index = i });
        if (status.Accepted && e.IsFile)
        {
            _sizes[i] = status.Size;
            if (ranges is { IsEmpty: false })
            {
                _presentByFile.Add((i, ranges));
            }
        }
    }

    /// <summary>
    /// Lays out the accepted files once every entry is judged. False when they add up to more than a job may carry
    /// (<see cref="JobLayout.MaxTotalSize"/>, or <paramref name="maxTotal"/>).
    /// </summary>
    public bool Lay(long maxTotal = JobLayout.MaxTotalSize)
    {
        try
        {
            Layout = new JobLayout(_sizes);
        }
        catch (ArgumentException)
        {
            return false;
        }

        if (Layout.TotalSize > maxTotal)
        {
            return false;
        }

        foreach (var (index, ranges) in _presentByFile)
        {
            long start = Layout.Start(index);
            foreach (var r in ranges)
            {
                Present.Add(start + r.Start, start + Math.Min(r.End, Layout.Size(index)));
            }
        }

        Accepted = Statuses.Count(s => s.Accepted);
        AcceptedFiles = Enumerable.Range(0, Entries.Count).Where(i => Statuses[i].Accepted && Entries[i].IsFile).ToList();
        return true;
    }

    /// <summary>JOB_PUT: the receiving end, committing each file as its bytes and hash are in.</summary>
    /// <param name="uploadKey">Entry i's upload key (null: none), with which a re-run takes over its own interrupted upload.</param>
    /// <param name="takeover">How a later upload of the same path may stop this job's (see <see cref="TransferService.BeginUpload"/>); null: it cannot.</param>
    public JobSink CreateSink(Action<JobFileOutcome> report, Func<int, byte[]?>? uploadKey = null, Func<IncomingFile, IUploadTakeover>? takeover = null)
    {
        var transfers = _context.Transfers;
        var files = _context.Files;
        return new JobSink(
            Layout, AcceptedFiles, Present,
            i =>
            {
                var e = Entries[i];
                // Null: the file may be here already (an earlier run's late commit); its hash decides (checkHeld).
                var upload = transfers.BeginUploadUnlessHeld(Requests[i], new FileIdentity(e.Size, e.MtimeUnixMs), uploadKey?.Invoke(i), takeover, e.Mode);
                return upload is null ? null : new JobSinkFile(upload.File, upload);
            },
            report,
            checkHeld: (i, sha256) => files.HoldsContent(Entries[i].Path, Entries[i].Size, sha256)
                ? null
                : new FileEngineException(FileErrorCode.AlreadyExists, $"'{Entries[i].Path}' already exists on the server with other content (it runs without --allow-overwrite)"));
    }

    /// <summary>JOB_GET: the sending end, reading the accepted files; <paramref name="onAbort"/> gets a file it cannot read.</summary>
    public JobSource CreateSource(Action<int, FailureKind, string> onAbort)
    {
        var transfers = _context.Transfers;
        return new JobSource(
            Layout,
            i =>
            {
                var file = transfers.OpenDownload(Requests[i]);
                return new JobSourceFile(file.Handle, file.Length, file);
            },
            (i, kind, message) =>
            {
                transfers.Failed(Requests[i], message);
                onAbort(i, kind, message);
            });
    }

    /// <summary>JOB_PUT: the accepted directories, deepest first (after the files below them, so their mtimes stay).</summary>
    public IEnumerable<int> DirectoriesDeepestFirst() =>
        Enumerable.Range(0, Entries.Count)
            .Where(i => !Entries[i].IsFile && Statuses[i].Accepted)
            .OrderByDescending(i => Entries[i].Path.Count(c => c == '/'))
            .ThenBy(i => i);

    /// <summary>JOB_PUT: creates directory entry <paramref name="i"/> (as MKDIR); its FILE_RESULT code and text.</summary>
    public (ushort Code, string Text) MakeDirectory(int i)
    {
        try
        {
            _context.Transfers.MakeDirectory(Requests[i], Entries[i].Mode, Entries[i].MtimeUnixMs);
            return (0, string.Empty);
        }
        catch (FileEngineException fe)
        {
            return ((ushort)TcpErrors.FromFile(fe.Code), fe.Message);
        }
    }

    // The server's verdict on one entry: accepted (code 0) with the size the layout uses, or the refusal.
    private TcpEntryStatus Judge(TransferRequest request, TcpJobEntry e, out RangeSet? present)
    {
        present = null;
        var transfers = _context.Transfers;
        if (transfers.Authorize(request) is { } refusal)
        {
            return new TcpEntryStatus(0, (ushort)TcpErrorCode.Unauthorized, e.Size, e.MtimeUnixMs, refusal);
        }

        try
        {
            if (!e.IsFile)
            {
                if (!Put)
                {
                    // A directory to fetch: it must be one; the client creates it with its mode and this mtime.
                    string full = _context.Files.ResolvePath(e.Path);
                    if (!Directory.Exists(full))
                    {
                        return new TcpEntryStatus(0, (ushort)TcpErrorCode.NotFound, 0, 0, $"'{e.Path}' is not a directory on the server");
                    }

                    return new TcpEntryStatus(0, 0, 0, new DateTimeOffset(Directory.GetLastWriteTimeUtc(full)).ToUnixTimeMilliseconds(), string.Empty);
                }

                return new TcpEntryStatus(0, 0, 0, e.MtimeUnixMs, string.Empty);
            }

            if (Put)
            {
                // A file already here of this size and mtime counts as all present; its hash decides (CreateSink).
                present = transfers.PeekUpload(request, e.Size, new FileIdentity(e.Size, e.MtimeUnixMs));
                return new TcpEntryStatus(0, 0, e.Size, e.MtimeUnixMs, string.Empty);
            }

            using var file = transfers.OpenDownload(request);
            return new TcpEntryStatus(0, 0, file.Identity.Size, file.Identity.MtimeUnixMs, string.Empty);
        }
        catch (FileEngineException fe)
        {
            return new TcpEntryStatus(0, (ushort)TcpErrors.FromFile(fe.Code), e.Size, e.MtimeUnixMs, fe.Message);
        }
    }
}
