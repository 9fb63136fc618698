using System.Net;
using System.Net.Sockets;

namespace Ferry.Tftp;

/// <summary>Conversions for the allocation-free <see cref="SocketAddress"/> socket calls.</summary>
internal static class SocketAddresses
{
    private static readonly IPEndPoint s_v4 = new(IPAddress.Any, 0);
    private static readonly IPEndPoint s_v6 = new(IPAddress.IPv6Any, 0);

    public static IPEndPoint ToEndPoint(SocketAddress address) =>
        (IPEndPoint)(address.Family == AddressFamily.InterNetwork ? s_v4 : s_v6).Create(address);

    public static SocketAddress Copy(SocketAddress address)
    {
        var copy = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span[..address.Size].CopyTo(copy.Buffer.Span);
        return copy;
    }

    /// <summary>The IPv4 form of an IPv4-mapped IPv6 address (dual-mode sockets report those), else the address.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
