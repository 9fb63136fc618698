using Ferry.Transfers;
using Ferry.Zmq.Native;

namespace Ferry.Zmq.Client;

/// <summary>zmq:// client: uploads with HELLO / pipelined CHUNKs / CLOSE over a DEALER socket. The protocol has no download.</summary>
public sealed class ZmqTransferClient : ITransferClient
{
    public const int DefaultPort = 7702;

    private readonly TimeProvider _time;

    /// <param name="time">The clock of the upload loop's deadlines; <see cref="TimeProvider.System"/> when null.</param>
    public ZmqTransferClient(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
    }

    public string Scheme => "zmq";

    /// <summary>Refused: see the message.</summary>
    public Task<IReadOnlyList<Protocol.Listing.ListingEntry>> ListAsync(Uri remote, bool recursive, ClientOptions options, CancellationToken cancellationToken) =>
        throw new TransferException(ExitCode.Usage, "zmq:// is upload-only: it cannot list a directory (use udp:// or tcp://)");

    /// <summary>An aborted zmq:// upload is discarded on the server (the protocol has no resume).</summary>
    public bool ResumesAfterInterruption => false;

    public Task<TransferResult> GetAsync(Uri remote, string localPath, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken) =>
        throw new TransferException(ExitCode.Usage, "zmq:// supports upload only (its HELLO/CHUNK/CLOSE protocol has no download); download with udp:// or tcp:// instead");

    public Task<TransferResult> SendAsync(string localPath, Uri remote, ClientOptions options, IProgress<TransferProgress> progress, CancellationToken cancellationToken)
    {
        if (!ZmqLibrary.IsAvailable)
        {
            throw new TransferException(ExitCode.Failure, ZmqLibrary.InstallHint);
        }

        if (options.ChunkSize is < 1 or > Protocol.Zmq.ZmqLimits.MaxChunkBytes)
        {
            throw new TransferException(ExitCode.Usage, $"--chunk-size must be from 1 to {Protocol.Zmq.ZmqLimits.MaxChunkBytes} bytes for zmq://");
        }

        string remotePath = TransferClients.RemotePath(remote);
        string endpoint = Endpoint(remote, out bool ipv6);
        int port = remote.IsDefaultPort || remote.Port < 0 ? DefaultPort : remote.Port;
        var key = ZmqClientSecurity.Resolve(remote.IdnHost, port, options);
        var uploader = new ZmqUploader(localPath, endpoint, ipv6, remotePath, options, progress, new Ferry.Timing.ShellClock(_time))
        {
            ServerKey = key,
            Server = Ferry.Security.KnownHosts.HostPort(remote.IdnHost, port),
        };

        // libzmq calls block: run the whole upload on its own thread, off the thread pool.
        return Task.Factory.StartNew(() => uploader.Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>"tcp://host:port" for a zmq:// URL (port 7702 unless given); IPv6 literals in brackets.</summary>
    public static string Endpoint(Uri remote, out bool ipv6)
    {
        int port = remote.IsDefaultPort || remote.Port < 0 ? DefaultPort : remote.Port;
        ipv6 = remote.HostNameType == UriHostNameType.IPv6;
        string host = ipv6 ? $"[{remote.IdnHost.Trim('[', ']')}]" : remote.IdnHost;
        return $"tcp://{host}:{port}";
    }
}
