using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Tcp;

/// <summary>
/// Sends a small prefix (a DATA frame header) followed by a range of the source file with sendfile(2), through
/// <see cref="Socket.SendPacketsAsync(SocketAsyncEventArgs)"/>: the file's pages go from the page cache to the
/// socket without being copied into this process and out again, which on loopback halves the sender's copying.
/// One instance per data connection, one send at a time.
/// </summary>
/// <remarks>
/// .NET sends file elements only from a <see cref="FileStream"/> it opened itself for asynchronous I/O (it rejects a
/// wrapped descriptor), so this opens the transfer's already open file again through /proc/self/fd: the same
/// file whatever happened to its name since, with a descriptor of its own, closed on dispose.
/// </remarks>
internal sealed class TcpFileSendOperation : IDisposable
{
    private readonly FileStream _file;
    private readonly SocketAsyncEventArgs _args = new();
    private TaskCompletionSource<SocketError>? _pending;

    private TcpFileSendOperation(FileStream file)
    {
        _file = file;
        _args.Completed += static (_, e) => ((TcpFileSendOperation)e.UserToken!).Complete();
        _args.UserToken = this;
    }

    /// <summary>
    /// A sender for the file open as <paramref name="source"/>, or null when it cannot be opened again (no /proc):
    /// the caller then reads and sends through buffers.
    /// </summary>
    public static TcpFileSendOperation? TryCreate(SafeFileHandle source)
    {
        // The reference keeps the descriptor number from being closed and reused while its /proc link is opened.
        bool added = false;
        try
        {
            source.DangerousAddRef(ref added);
            return new TcpFileSendOperation(new FileStream(
                $"/proc/self/fd/{source.DangerousGetHandle()}", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            if (added)
            {
                source.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Sends the first <paramref name="prefixLength"/> bytes of <paramref name="prefix"/>, then [<paramref name="offset"/>, +<paramref name="count"/>) of the file.
    /// Returns the bytes sent: fewer than asked means the file ended early (it shrank). Socket failures throw
    /// <see cref="SocketException"/>; a file range that is no longer inside the file is reported as a short send.
    /// </summary>
    public async ValueTask<long> SendAsync(Socket socket, byte[] prefix, int prefixLength, long offset, int count)
    {
        var file = new SendPacketsElement(_file, offset, count, endOfPacket: true);
        _args.SendPacketsElements = prefixLength == 0 ? [file] : [new SendPacketsElement(prefix, 0, prefixLength, endOfPacket: false), file];
        var pending = new TaskCompletionSource<SocketError>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending = pending;
        SocketError error = socket.SendPacketsAsync(_args) ? await pending.Task.ConfigureAwait(false) : _args.SocketError;
        _pending = null;
        long sent = _args.BytesTransferred;
        _args.SendPacketsElements = null;
        return error switch
        {
            SocketError.Success => sent,

            // .NET checks the range against the file's current length before calling sendfile.
            SocketError.InvalidArgument => Math.Min(sent, prefixLength),
            _ => throw new SocketException((int)error),
        };
    }

    public void Dispose()
    {
        _args.Dispose();
        _file.Dispose();
    }

    private void Complete() => _pending?.TrySetResult(_args.SocketError);
}
