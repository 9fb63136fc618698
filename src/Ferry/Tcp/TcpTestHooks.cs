using Ferry.Protocol.Tcp;

namespace Ferry.Tcp;

/// <summary>
/// Fault injection for end-to-end tests, passed to the listener or client through internal constructors; never
/// set in production. Kept out of the protocol types so no test behaviour is compiled into them.
/// </summary>
internal sealed class TcpTestHooks
{
    /// <summary>
    /// Called before a stream sends an item (on whichever side sends). Return false to kill that data connection
    /// with a reset, as if the network dropped it. May await (to hold a transfer at a known point).
    /// </summary>
    public Func<int, TcpWorkItem, CancellationToken, ValueTask<bool>>? BeforeSendItem { get; init; }

    /// <summary>Listener: act as a server older than the upload key, which refuses an OPEN carrying one as malformed.</summary>
    public bool RefuseUploadKey { get; init; }

    /// <summary>Listener: act as a server older than jobs (JOB_PUT, JOB_GET), which refuses their OPEN as malformed.</summary>
    public bool RefuseJobs { get; init; }

    /// <summary>Called on every chunk read from the source before it is sent (file offset, bytes): lets a test corrupt data in flight.</summary>
    public ChunkHook? AfterRead { get; init; }

    /// <summary>Sees (and may change) a chunk of file data about to be sent.</summary>
    public delegate void ChunkHook(long offset, Span<byte> data);
}
