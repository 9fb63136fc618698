using System.Threading.Channels;
using Ferry.Files;
using Ferry.Hosting;
using Ferry.Protocol.Zmq;

namespace Ferry.Zmq;

/// <summary>
/// The actor of one client's uploads of one filename (one transfer at a time): a mailbox, a
/// <see cref="ZmqUploadSession"/> with the rules, and the <see cref="IncomingFile"/> while a transfer is open.
/// Requests are handled strictly in arrival order; every reply goes back to the socket loop. Its only shared
/// objects are channels: the mailbox, the socket loop's outbox, and the registry actor's mailbox.
/// </summary>
internal sealed class ZmqTransferActor
{
    private readonly ZmqServerShared _shared;
    private readonly Channel<ZmqInbound?> _mailbox = Channel.CreateUnbounded<ZmqInbound?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ZmqUploadSession _session;
    private readonly CancellationToken _stopping;
    private IncomingFile? _file;
    private ITimer? _timer;
    private string _peer = string.Empty;

    // The request of the transfer in progress (or of the last HELLO), as the transfer service logs it.
    private TransferRequest? _request;

    // The identity (CURVE key, or IP address) of the connection that opened the transfer in progress.
    private string? _openedBy;
    private long _processed;

    public ZmqTransferActor(ZmqServerShared shared, string client, string fileName, CancellationToken stopping)
    {
        _shared = shared;
        Client = client;
        FileName = fileName;
        _stopping = stopping;
        _session = new ZmqUploadSession(fileName, shared.IdleTimeout, shared.MaxFileSize);
        Completion = Task.Run(RunAsync, CancellationToken.None);
    }

    public string Client { get; }

    public string FileName { get; }

    public Task Completion { get; }

    /// <summary>Requests the socket loop has put in this mailbox (socket thread only).</summary>
    public long Dispatched { get; set; }

    /// <summary>Queues a request (socket thread).</summary>
    public bool Post(ZmqInbound request) => _mailbox.Writer.TryWrite(request);

    /// <summary>No more requests: the actor finishes what it has and ends (socket thread).</summary>
    public void Complete() => _mailbox.Writer.TryComplete();

    private async Task RunAsync()
    {
        var reader = _mailbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var request))
                {
                    if (request is null)
                    {
                        await OnTimerAsync().ConfigureAwait(false);
                        PostIdleIfDone();
                        continue;
                    }

                    if (_stopping.IsCancellationRequested)
                    {
                        // Shutting down: no more disk work, no replies (the socket is closing).
                        request.Owner?.Dispose();
                        continue;
                    }

                    _processed++;
                    ZmqReply reply;
                    try
                    {
                        reply = await HandleAsync(request).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        // A bug must not leave the client without a reply or the actor dead with a live route.
                        reply = await FailAsync(e).ConfigureAwait(false);
                    }
                    finally
                    {
                        request.Owner?.Dispose();
                    }

                    _shared.Post(ZmqOutbound.ForReply(request, reply));
                    PostIdleIfDone();
                }
            }
        }
        finally
        {
            _timer?.Dispose();
            if (_file is not null)
            {
                _session.Reset();
                await EndTransferAsync(ZmqTransferOutcome.Shutdown, ZmqErrors.ShuttingDown).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<ZmqReply> HandleAsync(ZmqInbound request)
    {
        var now = _shared.Now;
        var r = request.Request;
        if (_file is not null && !string.Equals(request.PeerIdentity, _openedBy, StringComparison.Ordinal))
        {
            // Same routing id, other key: someone took over the id of a connection that is gone. The transfer is not
            // theirs: answer as for a name nobody opened (rule 1), and leave its state and idle timer untouched.
            return ZmqReply.Fail(ZmqErrors.NoTransfer(FileName));
        }

        switch (r.Verb)
        {
            case ZmqVerb.Hello:
            {
                var step = _session.OnHello(now, request.Arrival);
                if (step.Kind == ZmqStepKind.Reply)
                {
                    return step.Reply;
                }

                _peer = request.PeerText;
                var hello = new TransferRequest("zmq", _peer, TransferOperation.Put, FileName, r.Token);
                if (_shared.Transfers.Authorize(hello) is { } denied)
                {
                    return _session.OnHelloResult(_shared.Now, ZmqErrors.DeniedPrefix + denied);
                }

                var (file, error) = await _shared.Registry.AcquireAsync(hello).ConfigureAwait(false);
                var reply = _session.OnHelloResult(_shared.Now, error);
                if (reply.IsReady)
                {
                    _file = file;
                    _openedBy = request.PeerIdentity;
                    _request = hello;
                    ArmTimer();
                    _shared.Transfers.Started(hello, null, "size announced at the end");
                }

                return reply;
            }

            case ZmqVerb.Chunk:
            {
                var step = _session.OnChunk(now, request.Arrival, r.Offset, r.Checksum, r.Data.Span);
                if (step.Kind == ZmqStepKind.Reply)
                {
                    return step.Reply;
                }

                string? error = null;
                try
                {
                    var partial = _file!.File;
                    if (r.Offset + r.Size > partial.Size)
                    {
                        partial.SetSize(r.Offset + r.Size);
                    }

                    partial.Write(r.Offset, r.Data.Span);
                }
                catch (FileEngineException e)
                {
                    error = ZmqFileErrors.Describe(e);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    error = ZmqFileErrors.Io(FileName, e);
                }

                return _session.OnChunkWritten(_shared.Now, r.Offset, r.Size, error);
            }

            default:
            {
                long end = _session.Received.IsEmpty ? 0 : _session.Received.Last.End;
                var step = _session.OnClose(now, request.Arrival, r.Size);
                switch (step.Kind)
                {
                    case ZmqStepKind.Reply:
                        return step.Reply;
                    case ZmqStepKind.Abort:
                        // A CLOSE announcing more than was sent is how a client gives up (Ferry's sends its length + 1):
                        // log it as the client's abort, not as a size mismatch.
                        await EndTransferAsync(
                            ZmqTransferOutcome.Aborted,
                            step.Reply.Error,
                            r.Size > end ? $"aborted by the client after {end} bytes" : null).ConfigureAwait(false);
                        return step.Reply;
                }

                string? error = null;
                try
                {
                    // The rules checked the chunks end exactly at the announced size; a failed write may have raised it.
                    var partial = _file!.File;
                    partial.SetSize(r.Size);
                    partial.Commit(partial.ComputeSha256());
                }
                catch (FileEngineException e)
                {
                    error = ZmqFileErrors.Describe(e);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    error = ZmqFileErrors.Io(FileName, e);
                }

                var reply = _session.OnCloseResult(_shared.Now, error);
                await EndTransferAsync(error is null ? ZmqTransferOutcome.Committed : ZmqTransferOutcome.Failed, error).ConfigureAwait(false);
                return reply;
            }
        }
    }

    private async ValueTask<ZmqReply> FailAsync(Exception e)
    {
        _shared.Log($"{_peer}: internal error on '{ZmqErrors.Printable(FileName)}': {e}");
        if (_file is not null)
        {
            _session.Reset();
            await EndTransferAsync(ZmqTransferOutcome.Failed, e.GetType().Name).ConfigureAwait(false);
        }
        else if (_session.State != ZmqSessionState.Idle)
        {
            _session.Reset();
        }

        return ZmqReply.Fail(ZmqFileErrors.Io(FileName, e) + "; transfer aborted");
    }

    /// <summary>
    /// Tells the socket loop this actor could be retired: no transfer and nothing queued. The loop retires it only if
    /// it has not routed more requests here meanwhile (it compares <see cref="Dispatched"/> with the count sent).
    /// </summary>
    private void PostIdleIfDone()
    {
        if (_session.State == ZmqSessionState.Idle && !_mailbox.Reader.TryPeek(out _))
        {
            _shared.Post(ZmqOutbound.ForIdle(this, _processed));
        }
    }

    private async ValueTask OnTimerAsync()
    {
        if (_file is null)
        {
            return;
        }

        if (_session.OnTimeout(_shared.Now))
        {
            // Rule 7: nobody to answer; free the filename and drop the temp data.
            await EndTransferAsync(ZmqTransferOutcome.Expired, null).ConfigureAwait(false);
            return;
        }

        ArmTimer();
    }

    private void ArmTimer()
    {
        if (_session.NextWakeup is not { } wake)
        {
            return;
        }

        var due = wake - _shared.Now;
        if (due < TimeSpan.Zero)
        {
            due = TimeSpan.Zero;
        }

        if (_timer is null)
        {
            // The timer only drops a wake-up into the mailbox: all state stays on the actor's own flow.
            _timer = _shared.Time.CreateTimer(static s => ((Channel<ZmqInbound?>)s!).Writer.TryWrite(null), _mailbox, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    /// <param name="logAs">What the log says happened, when it differs from <paramref name="error"/> (sent to the client).</param>
    private async ValueTask EndTransferAsync(ZmqTransferOutcome outcome, string? error, string? logAs = null)
    {
        var file = _file!;
        _file = null;
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        long bytes = file.File.Received.TotalLength;
        if (outcome != ZmqTransferOutcome.Committed)
        {
            Discard(file);
        }

        await _shared.Registry.ReleaseAsync(file).ConfigureAwait(false);
        var transfers = _shared.Transfers;
        var request = _request ?? new TransferRequest("zmq", _peer, TransferOperation.Put, FileName);
        switch (outcome)
        {
            case ZmqTransferOutcome.Committed:
                transfers.Done(request, $"stored ({bytes} bytes)");
                break;
            case ZmqTransferOutcome.Expired:
                transfers.Failed(request, $"idle for {_shared.IdleTimeout.TotalSeconds:0.#} s, aborted");
                break;
            case ZmqTransferOutcome.Aborted when logAs is not null:
                transfers.Note(request, $"{logAs}; temporary data removed");
                break;
            case ZmqTransferOutcome.Failed:
                transfers.Failed(request, error ?? "failed");
                break;
            default:
                transfers.Note(request, $"{outcome.ToString().ToLowerInvariant()}: {error}");
                break;
        }

        _shared.Ended(new ZmqTransferEvent(FileName, _peer, outcome, bytes, error));
    }

    /// <summary>Removes the temp data of a transfer that will not be committed (zmq:// has no resume).</summary>
    private static void Discard(IncomingFile file)
    {
        try
        {
            file.File.Abort(keepForResume: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        // A failed commit (e.g. the target appeared meanwhile) leaves a verified temp and journal for a resume
        // that zmq:// cannot do: remove them too.
        TryDelete(file.File.TempPath);
        TryDelete(file.File.JournalPath);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
