using Ferry.Files;

namespace Ferry.Hosting;

/// <summary>
/// The server side of a transfer, the same for every listener: the access check (with the server's clock), opening a
/// download, building a listing, beginning an upload (with the takeover policy), and the request's log lines in one
/// format: <c>PEER OP PATH (SIZE bytes[, details][, token 'NAME'])</c>, then <c>PEER OP PATH done: …</c>,
/// <c>… failed: …</c> or <c>… refused: …</c>. Refusals of the file engine propagate as <see cref="FileEngineException"/>
/// (already logged here); each listener maps them to its own wire codes.
/// </summary>
public sealed class TransferService
{
    private readonly ServerContext _context;

    public TransferService(ServerContext context)
    {
        _context = context;
    }

    /// <summary>Null when the request's token allows it; otherwise why not (for the client), already logged as refused.</summary>
    public string? Authorize(TransferRequest request)
    {
        string? denied;
        try
        {
            denied = _context.Options.Access.Check(request.Token, request.Access, request.Path, _context.Clock.UtcNow);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            // A damaged or unreadable tokens.json must not open the server: refuse, and say why in the log.
            ServerLogEvents.TokenListUnreadable(Log(request), e.Message);
            denied = "the server cannot read its token list";
        }

        if (denied is not null)
        {
            Refused(request, denied);
        }
        else if (Log(request) is var log && log.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
        {
            // Only with -v: the token's name is looked up for this line alone.
            string token = _context.Options.Access.LogSuffix(request.Token);
            ServerLogEvents.TransferAuthorized(log, request.Peer, request.OpName, request.DisplayPath, token.Length > 0 ? token[2..] : "no token");
        }

        return denied;
    }

    /// <summary>Opens the file a GET asks for.</summary>
    public ReadableFile OpenDownload(TransferRequest request) => Logged(request, () => _context.Files.OpenRead(request.Path));

    /// <summary>Builds the listing a LIST asks for (may take a while on a large tree: callers run it off their loop).</summary>
    public HeldListing List(TransferRequest request, bool recursive) => Logged(request, () => _context.Files.ListEncoded(request.Path, recursive));

    /// <summary>
    /// Begins (or resumes) the upload a PUT asks for. <paramref name="takeover"/>, when given, lets a later upload of
    /// the same path stop this one (same upload key, or a silent client; see <see cref="UploadRegistry"/>); when this
    /// upload took over a running one, the log says whose. The committed file gets the source's modification time
    /// (<paramref name="identity"/>'s, when not 0) and <paramref name="mode"/> (null: the default of a new file).
    /// </summary>
    public IncomingFile BeginUpload(
        TransferRequest request, long size, FileIdentity? identity, byte[]? uploadKey = null, Func<IncomingFile, IUploadTakeover>? takeover = null, int? mode = null) =>
        Begin(request, size, identity, uploadKey, takeover, mode, acceptHeld: false)!;

    /// <summary>
    /// <see cref="BeginUpload"/>, except that a file already there of <paramref name="identity"/>'s size and mtime is
    /// not refused: null then (see <see cref="FileEngine.BeginUploadUnlessHeld"/>), nothing begun and nothing logged.
    /// </summary>
    public IncomingFile? BeginUploadUnlessHeld(
        TransferRequest request, FileIdentity identity, byte[]? uploadKey = null, Func<IncomingFile, IUploadTakeover>? takeover = null, int? mode = null) =>
        Begin(request, identity.Size, identity, uploadKey, takeover, mode, acceptHeld: true);

    private IncomingFile? Begin(
        TransferRequest request, long size, FileIdentity? identity, byte[]? uploadKey, Func<IncomingFile, IUploadTakeover>? takeover, int? mode, bool acceptHeld)
    {
        var upload = Logged(request, () => acceptHeld
            ? _context.Files.BeginUploadUnlessHeld(request.Path, size, identity!.Value, request.Owner, uploadKey)
            : _context.Files.BeginUpload(request.Path, size, identity, request.Owner, uploadKey));
        if (upload is null)
        {
            return null;
        }

        long? mtime = identity is { MtimeUnixMs: not 0 } id ? id.MtimeUnixMs : null;
        if (mode is not null || mtime is not null)
        {
            upload.File.SetCommitMetadata(mode, mtime);
        }

        if (takeover is not null)
        {
            upload.AllowTakeover(takeover(upload));
        }

        if (upload.TookOver is { } old)
        {
            ServerLogEvents.UploadTakenOver(Log(request), request.Peer, request.Path, old);
        }

        return upload;
    }

    /// <summary>
    /// What an upload of the request's path would resume from (ranges of an interrupted upload of the same version),
    /// without creating anything or taking the path; refusals as <see cref="BeginUpload"/>'s, logged.
    /// </summary>
    public Protocol.Common.RangeSet PeekUpload(TransferRequest request, long size, FileIdentity? identity) =>
        Logged(request, () => _context.Files.PeekUpload(request.Path, size, identity));

    /// <summary>
    /// Carries out a MKDIR once its (empty) upload is verified: creates the directory and its parents if missing and
    /// gives it <paramref name="mode"/> (null: unchanged) and <paramref name="mtimeUnixMs"/> (0: unchanged).
    /// </summary>
    public void MakeDirectory(TransferRequest request, int? mode, long mtimeUnixMs) =>
        Logged(request, () =>
        {
            _context.Files.MakeDirectory(request.Path, mode, mtimeUnixMs == 0 ? null : mtimeUnixMs);
            return true;
        });

    /// <summary>
    /// Logs the start of a transfer: <c>PEER OP PATH (SIZE bytes, DETAILS, token 'NAME')</c>; the size is left out when
    /// <paramref name="bytes"/> is null (not announced yet), the parentheses when nothing is in them.
    /// </summary>
    public void Started(TransferRequest request, long? bytes, string? details = null)
    {
        var parts = new List<string>(3);
        if (bytes is long n)
        {
            parts.Add($"{n} bytes");
        }

        if (!string.IsNullOrEmpty(details))
        {
            parts.Add(details);
        }

        string token = _context.Options.Access.LogSuffix(request.Token);
        if (token.Length > 0)
        {
            parts.Add(token[2..]); // ", token 'NAME'" without its separator
        }

        ServerLogEvents.TransferStarted(Log(request), request.Peer, request.OpName, request.DisplayPath, parts.Count == 0 ? string.Empty : $" ({string.Join(", ", parts)})");
    }

    /// <summary>Logs a transfer that ended well: <c>PEER OP PATH done: WHAT</c>.</summary>
    public void Done(TransferRequest request, string what) => ServerLogEvents.TransferDone(Log(request), request.Peer, request.OpName, request.DisplayPath, what);

    /// <summary>Logs a transfer that failed after it started: <c>PEER OP PATH failed: WHY</c>.</summary>
    public void Failed(TransferRequest request, string why) => ServerLogEvents.TransferFailed(Log(request), request.Peer, request.OpName, request.DisplayPath, why);

    /// <summary>Logs a request that was not served: <c>PEER OP PATH refused: WHY</c>.</summary>
    public void Refused(TransferRequest request, string why) => ServerLogEvents.TransferRefused(Log(request), request.Peer, request.OpName, request.DisplayPath, why);

    /// <summary>Logs anything else about a request: <c>PEER OP PATH: WHAT</c>.</summary>
    public void Note(TransferRequest request, string what) => ServerLogEvents.TransferNote(Log(request), request.Peer, request.OpName, request.DisplayPath, what);

    private Microsoft.Extensions.Logging.ILogger Log(TransferRequest request) => _context.Logger(request.Protocol);

    private T Logged<T>(TransferRequest request, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (FileEngineException e)
        {
            Refused(request, e.Message);
            throw;
        }
    }
}
