using System.Runtime.InteropServices;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary>Where <c>ferry get</c> writes, decided and checked before anything is sent to the server.</summary>
internal static partial class LocalDestination
{
    private const int WriteOk = 2;
    private const int SearchOk = 1;

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
        string directory = Path.GetDirectoryName(Path.GetFullPath(local)) ?? "/";
        if (!Directory.Exists(directory))
        {
            throw new TransferException(ExitCode.LocalIo, $"cannot write '{local}': the directory '{directory}' does not exist");
        }

        // access(2) answers for this user, its groups, ACLs and read-only mounts, as the write itself would.
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            if (Access(directory, WriteOk | SearchOk) != 0)
            {
                throw new TransferException(ExitCode.LocalIo, $"cannot write '{local}': the directory '{directory}' is not writable ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())})");
            }
        }

        return local;
    }

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Access(string path, int mode);
}
