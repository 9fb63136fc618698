using System.Runtime.InteropServices;

namespace Ferry.Zmq.Native;

/// <summary>
/// A Linux eventfd used to wake a thread blocked in zmq_poll from any other thread (zmq sockets themselves are not
/// thread-safe, so other threads cannot simply send to the polling thread's socket).
/// </summary>
public sealed unsafe partial class EventFd : SafeHandle
{
    private const int EfdCloexec = 0x80000;
    private const int EfdNonblock = 0x800;
    private const int EINTR = 4;

    public EventFd()
        : base(-1, ownsHandle: true)
    {
        int fd = Native.EventFd(0, EfdCloexec | EfdNonblock);
        if (fd < 0)
        {
            throw new IOException($"eventfd failed (errno {Marshal.GetLastPInvokeError()})");
        }

        SetHandle(fd);
    }

    public override bool IsInvalid => handle == -1;

    /// <summary>The descriptor to poll for readability.</summary>
    public int Fd => (int)handle;

    /// <summary>Makes the descriptor readable (safe from any thread; extra signals coalesce).</summary>
    public void Signal()
    {
        ulong one = 1;
        bool added = false;
        DangerousAddRef(ref added);
        try
        {
            while (Native.Write(Fd, &one, sizeof(ulong)) < 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
            }
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <summary>Consumes pending signals; returns whether there was any.</summary>
    public bool Drain()
    {
        ulong value = 0;
        while (true)
        {
            if (Native.Read(Fd, &value, sizeof(ulong)) == sizeof(ulong))
            {
                return true;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR)
            {
                continue;
            }

            return false; // EAGAIN: nothing pending
        }
    }

    protected override bool ReleaseHandle() => Native.CloseFd((int)handle) == 0;

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
        public static partial int EventFd(uint initval, int flags);

        [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
        public static partial nint Write(int fd, void* buffer, nuint count);

        [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
        public static partial nint Read(int fd, void* buffer, nuint count);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        public static partial int CloseFd(int fd);
    }
}
