using System.Threading.Channels;
using Ferry.Files;
using Ferry.Hosting;

namespace Ferry.Zmq;

/// <summary>
/// Owns every filename lock the zmq:// server holds. Transfer actors ask it for a file at HELLO and give the file
/// back when the transfer is over; it is the only zmq code that calls <see cref="TransferService.BeginUpload"/> or
/// releases a lease, so exclusivity decisions are taken one at a time. The locks themselves live in the engine's
/// <see cref="UploadRegistry"/>, shared with udp:// and tcp://, so the same path cannot be uploaded twice by any protocol.
/// </summary>
internal sealed class ZmqRegistryActor
{
    private readonly TransferService _transfers;
    private readonly Channel<Request> _mailbox = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });

    // Files handed out and not yet given back (this actor's own state; nobody else touches it).
    private readonly HashSet<IncomingFile> _held = new(ReferenceEqualityComparer.Instance);

    public ZmqRegistryActor(TransferService transfers)
    {
        _transfers = transfers;
        Completion = Task.Run(RunAsync);
    }

    /// <summary>Completes after <see cref="Stop"/> once every request was handled and leftover files aborted.</summary>
    public Task Completion { get; }

    /// <summary>Files currently held by zmq:// transfers.</summary>
    public int HeldCount { get; private set; }

    /// <summary>Begins the upload <paramref name="upload"/> asks for (size announced later): the file, or the ERROR text.</summary>
    public Task<(IncomingFile? File, string? Error)> AcquireAsync(TransferRequest upload)
    {
        var request = new Request(upload, null);
        return _mailbox.Writer.TryWrite(request)
            ? request.Result.Task
            : Task.FromResult<(IncomingFile?, string?)>((null, Protocol.Zmq.ZmqErrors.ShuttingDown));
    }

    /// <summary>Gives a file back (already committed or aborted by the transfer actor); completes once the lock is released.</summary>
    public Task ReleaseAsync(IncomingFile file)
    {
        var request = new Request(null, file);
        if (_mailbox.Writer.TryWrite(request))
        {
            return request.Result.Task;
        }

        file.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>No more requests: leftovers are aborted (temp data removed) when the queue is drained.</summary>
    public void Stop() => _mailbox.Writer.TryComplete();

    private async Task RunAsync()
    {
        var reader = _mailbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var request))
            {
                if (request.File is { } file)
                {
                    Release(file);
                    request.Result.TrySetResult((null, null));
                }
                else
                {
                    request.Result.TrySetResult(Acquire(request.Upload!));
                }
            }
        }

        foreach (var file in _held.ToArray())
        {
            file.File.Abort(keepForResume: false);
            Release(file);
        }
    }

    private (IncomingFile?, string?) Acquire(TransferRequest upload)
    {
        try
        {
            // zmq:// announces the size only at CLOSE: start at 0 and let the size grow with the data.
            var file = _transfers.BeginUpload(upload, 0, identity: null);
            _held.Add(file);
            HeldCount = _held.Count;
            return (file, null);
        }
        catch (FileEngineException e)
        {
            return (null, ZmqFileErrors.Describe(e));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, ZmqFileErrors.Io(upload.Path, e));
        }
    }

    private void Release(IncomingFile file)
    {
        try
        {
            file.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The lease is released in a finally inside Dispose; a failed cleanup leaves only litter.
        }

        _held.Remove(file);
        HeldCount = _held.Count;
    }

    private sealed class Request(TransferRequest? upload, IncomingFile? file)
    {
        public TransferRequest? Upload { get; } = upload;

        public IncomingFile? File { get; } = file;

        public TaskCompletionSource<(IncomingFile? File, string? Error)> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
