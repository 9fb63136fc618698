using System.Buffers.Binary;

namespace Ferry.Protocol.Tcp;

/// <summary>
/// The 5-byte header in front of every frame: type, then payload length (u32 big-endian).
/// Parsing checks that the type may travel on this kind of connection in this direction and that the
/// length is within that type's bounds, so a reader can size its buffer from a validated value only.
/// </summary>
public readonly record struct TcpFrameHeader(TcpFrameType Type, int Length)
{
    /// <summary>Writes a header for a payload of <paramref name="length"/> bytes.</summary>
    public static void Write(Span<byte> destination, TcpFrameType type, int length)
    {
        destination[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], checked((uint)length));
    }

    /// <summary>Parses and bounds-checks a header received on a <paramref name="kind"/> connection.</summary>
    /// <param name="fromClient">True when the frame was sent by the client (the side that connected).</param>
    public static TcpDecodeStatus TryRead(ReadOnlySpan<byte> source, TcpConnectionKind kind, bool fromClient, out TcpFrameHeader header)
    {
        header = default;
        if (source.Length < TcpWire.FrameHeaderLength)
        {
            return TcpDecodeStatus.BadLength;
        }

        var type = (TcpFrameType)source[0];
        uint length = BinaryPrimitives.ReadUInt32BigEndian(source[1..]);
        if (!IsAllowed(type, kind, fromClient))
        {
            return TcpDecodeStatus.UnexpectedType;
        }

        // Compare as unsigned so a length above int.MaxValue can never wrap into a small one.
        if (length > (uint)TcpWire.MaxPayload(type) || length < (uint)TcpWire.MinPayload(type))
        {
            return TcpDecodeStatus.BadLength;
        }

        header = new TcpFrameHeader(type, (int)length);
        return TcpDecodeStatus.Ok;
    }

    /// <summary>Which frame types may travel on which connection, in which direction.</summary>
    public static bool IsAllowed(TcpFrameType type, TcpConnectionKind kind, bool fromClient) => (kind, fromClient, type) switch
    {
        (_, _, TcpFrameType.Error) => true,
        (TcpConnectionKind.Control, true, TcpFrameType.Open or TcpFrameType.Have or TcpFrameType.Hash or TcpFrameType.Done
            or TcpFrameType.Entries or TcpFrameType.FileHash or TcpFrameType.FileAbort or TcpFrameType.FileResult) => true,
        (TcpConnectionKind.Control, false, TcpFrameType.Accept or TcpFrameType.Hash or TcpFrameType.Done
            or TcpFrameType.Status or TcpFrameType.FileHash or TcpFrameType.FileAbort or TcpFrameType.FileResult) => true,
        (TcpConnectionKind.Data, true, TcpFrameType.Join or TcpFrameType.Data or TcpFrameType.Ack) => true,
        (TcpConnectionKind.Data, false, TcpFrameType.Joined or TcpFrameType.Data or TcpFrameType.Ack) => true,
        _ => false,
    };
}
