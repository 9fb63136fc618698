using System.Net;

namespace Ferry.Hosting;

/// <summary>One protocol served by <c>ferry serve</c> (udp, tcp, zmq, tftp, relay) over the shared file engine.</summary>
public interface IProtocolListener : IAsyncDisposable
{
    /// <summary>Short name for logs, e.g. "udp".</summary>
    string Name { get; }

    /// <summary>The bound local endpoint (useful when the configured port was 0).</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled, then closes every connection.</summary>
    Task RunAsync(CancellationToken cancellationToken);
}
