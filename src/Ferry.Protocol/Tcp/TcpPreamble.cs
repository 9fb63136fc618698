using System.Buffers.Binary;

namespace Ferry.Protocol.Tcp;

/// <summary>The 8 bytes a client sends first on every connection: magic, version, connection kind.</summary>
public readonly record struct TcpPreamble(byte Version, TcpConnectionKind Kind)
{
    /// <summary>Writes the preamble for this implementation's version.</summary>
    public static int Write(Span<byte> destination, TcpConnectionKind kind)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, TcpWire.Magic);
        destination[4] = TcpWire.Version;
        destination[5] = (byte)kind;
        destination[6] = 0;
        destination[7] = 0;
        return TcpWire.PreambleLength;
    }

    /// <summary>
    /// Parses a preamble. The version is checked last so a peer of another version is told so
    /// (and not "garbage") whenever its magic is right.
    /// </summary>
    public static TcpDecodeStatus TryRead(ReadOnlySpan<byte> source, out TcpPreamble preamble)
    {
        preamble = default;
        if (source.Length < TcpWire.PreambleLength || BinaryPrimitives.ReadUInt32BigEndian(source) != TcpWire.Magic)
        {
            return TcpDecodeStatus.BadMagic;
        }

        var kind = (TcpConnectionKind)source[5];
        preamble = new TcpPreamble(source[4], kind);
        if (source[4] != TcpWire.Version)
        {
            return TcpDecodeStatus.UnsupportedVersion;
        }

        if (kind is not (TcpConnectionKind.Control or TcpConnectionKind.Data) || source[6] != 0 || source[7] != 0)
        {
            return TcpDecodeStatus.BadPreamble;
        }

        return TcpDecodeStatus.Ok;
    }
}
