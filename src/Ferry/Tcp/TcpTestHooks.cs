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
}
