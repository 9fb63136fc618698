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
    public const int EIo = 5;
    public const int EInval = 22;
    public const int EOpNotSupp = 95;
    public const int SolUdp = 17;
    public const int UdpSegment = 103;
    public const int UdpGro = 104;

    /// <summary>Most datagrams one GSO send may carry (the kernel's UDP_MAX_SEGMENTS).</summary>
    public const int MaxGsoSegments = 64;

    /// <summary>Most payload bytes one GSO send may carry (an IP packet's 64 KiB less headers).</summary>
    public const int MaxGsoBytes = 65000;

    /// <summary>CMSG_SPACE(sizeof(int)) on 64-bit Linux: a 16-byte cmsghdr plus data padded to 8.</summary>
    public const int ControlSpace = 24;

    /// <summary>FERRY_NO_GSO=1 turns segmentation offload off (for comparison in benchmarks).</summary>
    public static bool GsoAllowed { get; } = Environment.GetEnvironmentVariable("FERRY_NO_GSO") is not ("1" or "true");

    [StructLayout(LayoutKind.Sequential)]
    public struct CMsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    /// <summary>Writes a UDP_SEGMENT control message carrying the segment size.</summary>
    public static void WriteSegmentControl(byte* control, ushort segmentSize)
    {
        var h = (CMsgHdr*)control;
        h->Length = (nuint)(sizeof(CMsgHdr) + sizeof(ushort));
        h->Level = SolUdp;
        h->Type = UdpSegment;
        *(ushort*)(control + sizeof(CMsgHdr)) = segmentSize;
    }

    /// <summary>The UDP_GRO segment size from a received message's control data, or 0.</summary>
    public static int ReadGroSegmentSize(ref MsgHdr header)
    {
        if (header.Control == null || header.ControlLength < (nuint)sizeof(CMsgHdr))
        {
            return 0;
        }

        byte* p = (byte*)header.Control;
        byte* end = p + header.ControlLength;
        while (p + sizeof(CMsgHdr) <= end)
        {
            var h = (CMsgHdr*)p;
            if (h->Length < (nuint)sizeof(CMsgHdr))
            {
                return 0;
            }

            if (h->Level == SolUdp && h->Type == UdpGro)
            {
                return *(int*)(p + sizeof(CMsgHdr));
            }

            p += (int)((h->Length + 7) & ~(nuint)7);
        }

        return 0;
    }

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
