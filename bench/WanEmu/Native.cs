using System.Runtime.InteropServices;

namespace Ferry.Bench.WanEmu;

/// <summary>The few libc calls the emulator needs: TUN attach, namespace switch, non-blocking packet I/O, ppoll.</summary>
internal static partial class Native
{
    public const int ORdOnly = 0x0;
    public const int ORdWr = 0x2;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;
    public const int CloneNewNet = 0x40000000;
    public const short PollIn = 0x1;
    public const int EIntr = 4;
    public const int EAgain = 11;

    /// <summary>_IOW('T', 202, int).</summary>
    public const uint TunSetIff = 0x400454ca;
    public const short IffTun = 0x0001;
    public const short IffNoPi = 0x1000;

    /// <summary>prctl option: how late the kernel may fire this thread's timers (default 50 µs).</summary>
    public const int PrSetTimerSlack = 29;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static unsafe partial int Ioctl(int fd, nuint request, byte* arg);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    public static unsafe partial int PPoll(PollFd* fds, nuint count, TimeSpec* timeout, void* sigmask);

    public const int SchedFifo = 1;

    /// <summary>sched_setscheduler(2); pid 0 is the calling thread. <paramref name="priority"/> points at a
    /// struct sched_param (one int).</summary>
    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    public static unsafe partial int SchedSetScheduler(int pid, int policy, int* priority);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
