using System.Runtime.InteropServices;

namespace Ferry.Zmq.Native;

/// <summary>A libzmq call failed; <see cref="Errno"/> is the zmq_errno() value.</summary>
public sealed class ZmqException : IOException
{
    public ZmqException(string operation, int errno)
        : base($"{operation}: {Describe(errno)} (errno {errno})")
    {
        Errno = errno;
    }

    /// <summary>errno as libzmq reported it (POSIX codes, or ZMQ_HAUSNUMERO-based ones such as ETERM).</summary>
    public int Errno { get; }

    /// <summary>Throws for the errno of the P/Invoke call that just failed.</summary>
    internal static ZmqException Last(string operation) => new(operation, Marshal.GetLastPInvokeError());

    private static string Describe(int errno)
    {
        nint text = LibZmq.StrError(errno);
        return text == 0 ? "unknown error" : Marshal.PtrToStringUTF8(text) ?? "unknown error";
    }
}
