using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>Which carrier moves a job of many files for a URL scheme.</summary>
public static class JobCarriers
{
    /// <summary>
    /// The carrier for <paramref name="client"/>'s scheme: the scheme's own (the whole job in one session, tcp://) when it
    /// has one, falling back to one transfer per file against a server older than that; otherwise udp:// and zmq://
    /// (uploads) carry jobs file by file; tftp:// cannot (no listing, no directories, one file per session by design):
    /// a usage error says so.
    /// </summary>
    public static IJobCarrier For(ITransferClient client, Action<string> warning, int parallel)
    {
        if (string.Equals(client.Scheme, "tftp", StringComparison.OrdinalIgnoreCase))
        {
            throw new TransferException(ExitCode.Usage,
                "tftp:// moves one file per command: TFTP has no listing and no directories, so it cannot carry a directory tree or several files (use udp:// or tcp://, or zmq:// to upload)");
        }

        var perFile = new PerFileCarrier(client, warning, parallel);
        return client.JobCarrier is { } native ? new FallbackCarrier(native, perFile, warning) : perFile;
    }

    /// <summary>The scheme's own carrier; when the server cannot take a job in one session, one transfer per file.</summary>
    private sealed class FallbackCarrier(IJobCarrier native, IJobCarrier perFile, Action<string> warning) : IJobCarrier
    {
        public Task UploadAsync(RemoteUrl server, IReadOnlyList<JobEntry> entries, ClientOptions options, IJobObserver observer, CancellationToken cancellationToken) =>
            WithFallbackAsync(server, c => c.UploadAsync(server, entries, options, observer, cancellationToken));

        public Task DownloadAsync(RemoteUrl server, IReadOnlyList<JobEntry> entries, ClientOptions options, IJobObserver observer, CancellationToken cancellationToken) =>
            WithFallbackAsync(server, c => c.DownloadAsync(server, entries, options, observer, cancellationToken));

        private async Task WithFallbackAsync(RemoteUrl server, Func<IJobCarrier, Task> move)
        {
            try
            {
                await move(native).ConfigureAwait(false);
            }
            catch (TransferException e) when (e.CarrierUnsupported)
            {
                warning(OneByOne(server));
                await move(perFile).ConfigureAwait(false);
            }
        }

        private static string OneByOne(RemoteUrl server) =>
            $"{server.Scheme}://{server.Authority} cannot take many files in one session (an older server): they go one transfer per file";
    }
}
