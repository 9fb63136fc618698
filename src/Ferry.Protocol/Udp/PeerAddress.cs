using System.Buffers.Binary;

namespace Ferry.Protocol.Udp;

/// <summary>
/// A peer's transport address as the protocol sees it: 16 address bytes (IPv4 mapped into IPv6) and a port.
/// Opaque to the state machines; shells convert to and from socket addresses.
/// </summary>
public readonly record struct PeerAddress(UInt128 Address, ushort Port)
{
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt128BigEndian(destination, Address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[16..], Port);
    }

    public static PeerAddress FromBytes(ReadOnlySpan<byte> address16, ushort port) =>
        new(BinaryPrimitives.ReadUInt128BigEndian(address16), port);
}
