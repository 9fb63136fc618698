using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ferry.Udp;

/// <summary>
/// The few Linux socket calls the UDP shell needs beyond System.Net.Sockets: batched datagram I/O
/// (recvmmsg/sendmmsg: one syscall for many datagrams) and ppoll with a microsecond timeout.
/// Structures are the x86_64/arm64 Linux layouts.
/// </summary>
internal static unsafe partial class NativeUdp
{
    public const int MsgDontWait = 0x40;
    public const int EAgain = 11;
    public const int EIntr = 4;
    public const short PollIn = 0x001;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

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

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, TimeSpec* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    public static partial int PPoll(PollFd* fds, nuint count, TimeSpec* timeout, void* sigmask);

    /// <summary>True where these calls exist (Linux); elsewhere the shell uses managed sockets.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && (RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64);

    public static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();
}
