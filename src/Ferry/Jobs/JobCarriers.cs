using Ferry.Transfers;

namespace Ferry.Jobs;

/// <summary>Which carrier moves a job of many files for a URL scheme.</summary>
public static class JobCarriers
{
    /// <summary>
    /// The carrier for <paramref name="client"/>'s scheme: udp://, tcp:// and zmq:// (uploads) carry jobs file by file;
    /// tftp:// cannot (no listing, no directories, one file per session by design): a usage error says so.
    /// </summary>
    public static IJobCarrier For(ITransferClient client, Action<string> warning, int parallel)
    {
        if (string.Equals(client.Scheme, "tftp", StringComparison.OrdinalIgnoreCase))
        {
            throw new TransferException(ExitCode.Usage,
                "tftp:// moves one file per command: TFTP has no listing and no directories, so it cannot carry a directory tree or several files (use udp:// or tcp://, or zmq:// to upload)");
        }

        return new PerFileCarrier(client, warning, parallel);
    }
}
