using Ferry.Files;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary>Where <c>ferry get</c> writes, decided and checked before anything is sent to the server.</summary>
internal static class LocalDestination
{
    /// <summary>
    /// The file <c>ferry get URL DEST</c> writes: DEST, or the remote file's name inside DEST when DEST is a directory
    /// or ends in '/'. Its directory must exist and be writable (the download is written beside it, then renamed):
    /// checked here, so a bad destination fails at once instead of after the connection.
    /// </summary>
    public static string Resolve(string dest, Uri remote)
    {
        string local = Directory.Exists(dest) || dest.EndsWith('/')
            ? Path.Combine(dest, Path.GetFileName(TransferClients.RemotePath(remote)))
            : dest;
        DownloadDestination.RequireWritableDirectory(local);
        return local;
    }
}
