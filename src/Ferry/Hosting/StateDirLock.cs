using System.Runtime.InteropServices;
using System.Text;
using Ferry.Files;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Hosting;

/// <summary>
/// Holds <c>serve.lock</c> in a server's state directory (an exclusive <c>flock</c>) for as long as the server
/// runs, so a second <c>ferry serve</c> on the same state directory refuses to start: two servers there would
/// write the same resume journals, key and relay history. The kernel drops the lock when the process dies, so a
/// crashed server never leaves a stale lock behind. The file holds the owner's pid and root, for the message.
/// </summary>
public sealed class StateDirLock : IDisposable
{
    public const string FileName = "serve.lock";

    private readonly SafeFileHandle _handle;

    private StateDirLock(SafeFileHandle handle)
    {
        _handle = handle;
    }

    /// <summary>Takes the lock; throws <see cref="StateDirInUseException"/> when another server holds it.</summary>
    public static StateDirLock Acquire(string stateDir, string root)
    {
        Directory.CreateDirectory(stateDir);
        string path = Path.Combine(stateDir, FileName);
        var handle = NativeFile.OpenTempExclusive(path, out int errno);
        if (handle is null)
        {
            if (errno == NativeFile.EWOULDBLOCK)
            {
                throw new StateDirInUseException(stateDir, ReadOwner(path));
            }

            throw new IOException($"cannot lock {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        try
        {
            byte[] owner = Encoding.UTF8.GetBytes($"pid {Environment.ProcessId}, root {root}\n");
            RandomAccess.SetLength(handle, 0);
            RandomAccess.Write(handle, owner, 0);
            return new StateDirLock(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>What the holder wrote ("pid 123, root /srv/data"), or null when it cannot be read.</summary>
    private static string? ReadOwner(string path)
    {
        // Read without FileStream: .NET would ask for a shared flock, which the holder's exclusive lock refuses.
        using var handle = NativeFile.OpenReadNonBlocking(path, out _);
        if (handle is null)
        {
            return null;
        }

        var buffer = new byte[1024];
        int n = RandomAccess.Read(handle, buffer, 0);
        string text = Encoding.UTF8.GetString(buffer, 0, n).Trim();
        return text.Length > 0 ? text : null;
    }
}
