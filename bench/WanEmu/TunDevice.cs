using System.Runtime.InteropServices;
using System.Text;

namespace Ferry.Bench.WanEmu;

/// <summary>Attaches to an existing TUN device (IFF_TUN | IFF_NO_PI) inside a named network namespace.</summary>
/// <remarks>
/// TUNSETIFF looks the device name up in the network namespace the /dev/net/tun file was opened in, so the
/// open happens on a short-lived thread that first joins the namespace with setns(2) (which only moves the
/// calling thread). The returned descriptor keeps working from any thread afterwards: packets written to it
/// enter that namespace's stack. The device itself is created (persistent) by bench/wan.sh with
/// <c>ip tuntap add</c>, so the addresses and routes are set before the emulator starts.
/// </remarks>
internal static class TunDevice
{
    public static int OpenInNamespace(string netns, string device)
    {
        if (Encoding.UTF8.GetByteCount(device) >= 16)
        {
            throw new ArgumentException($"device name '{device}' is longer than 15 bytes");
        }

        int fd = -1;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                fd = OpenOnThisThread(netns, device);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { Name = "tun-open " + netns };
        thread.Start();
        thread.Join();
        return failure is null ? fd : throw failure;
    }

    private static unsafe int OpenOnThisThread(string netns, string device)
    {
        string nsPath = netns.Contains('/') ? netns : "/var/run/netns/" + netns;
        int nsFd = Native.Open(nsPath, Native.ORdOnly | Native.OCloExec);
        if (nsFd < 0)
        {
            throw new IOException($"open {nsPath}: errno {Marshal.GetLastPInvokeError()} (does the namespace exist?)");
        }

        try
        {
            if (Native.SetNs(nsFd, Native.CloneNewNet) != 0)
            {
                throw new IOException($"setns {nsPath}: errno {Marshal.GetLastPInvokeError()} (needs root)");
            }
        }
        finally
        {
            Native.Close(nsFd);
        }

        int fd = Native.Open("/dev/net/tun", Native.ORdWr | Native.ONonBlock | Native.OCloExec);
        if (fd < 0)
        {
            throw new IOException($"open /dev/net/tun: errno {Marshal.GetLastPInvokeError()}");
        }

        // struct ifreq: char ifr_name[16]; short ifr_flags; (union padded to 40 bytes).
        byte* ifr = stackalloc byte[40];
        new Span<byte>(ifr, 40).Clear();
        Encoding.UTF8.GetBytes(device, new Span<byte>(ifr, 15));
        *(short*)(ifr + 16) = Native.IffTun | Native.IffNoPi;
        if (Native.Ioctl(fd, Native.TunSetIff, ifr) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            Native.Close(fd);
            throw new IOException($"TUNSETIFF {device} in {netns}: errno {errno}");
        }

        return fd;
    }
}
