using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Ferry.Protocol.Udp;

namespace Ferry.Udp;

/// <summary>Converts between raw Linux sockaddr bytes, <see cref="IPEndPoint"/> and the protocol's <see cref="PeerAddress"/>.</summary>
internal static class SocketAddressCodec
{
    public const int SockAddrSize = 28; // sizeof(struct sockaddr_in6)
    private const ushort AfInet = 2;
    private const ushort AfInet6 = 10;

    public static PeerAddress FromSockAddr(ReadOnlySpan<byte> sa)
    {
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(sa);
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(sa[2..]);
        if (family == AfInet)
        {
            Span<byte> mapped = stackalloc byte[16];
            mapped[10] = 0xFF;
            mapped[11] = 0xFF;
            sa.Slice(4, 4).CopyTo(mapped[12..]);
            return PeerAddress.FromBytes(mapped, port);
        }

        return PeerAddress.FromBytes(sa.Slice(8, 16), port);
    }

    /// <summary>Writes <paramref name="peer"/> as a sockaddr of the socket's family; returns its length.</summary>
    public static int ToSockAddr(in PeerAddress peer, AddressFamily family, Span<byte> sa)
    {
        sa[..SockAddrSize].Clear();
        Span<byte> addr = stackalloc byte[18];
        peer.WriteTo(addr);
        if (family == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(sa, AfInet);
            BinaryPrimitives.WriteUInt16BigEndian(sa[2..], peer.Port);
            addr.Slice(12, 4).CopyTo(sa[4..]);
            return 16;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(sa, AfInet6);
        BinaryPrimitives.WriteUInt16BigEndian(sa[2..], peer.Port);
        addr[..16].CopyTo(sa[8..]);
        return SockAddrSize;
    }

    public static PeerAddress FromEndPoint(IPEndPoint ep)
    {
        var ip = ep.Address.AddressFamily == AddressFamily.InterNetwork ? ep.Address.MapToIPv6() : ep.Address;
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out _);
        return PeerAddress.FromBytes(bytes, (ushort)ep.Port);
    }

    /// <summary>
    /// <c>a == b</c>, taking both by reference: a caller that passed PeerAddress values would not be precompiled
    /// (ReadyToRun refuses UInt128 parameters), only this small method is JIT-compiled. Not inlined: inlined, its
    /// by-value comparison would land in the caller again.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool Same(in PeerAddress a, in PeerAddress b) => a == b;

    public static IPEndPoint ToEndPoint(in PeerAddress peer)
    {
        Span<byte> bytes = stackalloc byte[18];
        peer.WriteTo(bytes);
        var ip = new IPAddress(bytes[..16]);
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }

        return new IPEndPoint(ip, peer.Port);
    }
}
