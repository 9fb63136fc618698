using System.Buffers.Binary;
using System.Text;

namespace Ferry.Protocol.Tcp;

/// <summary>ERROR: u16 code, u16 text length, UTF-8 text (at most 1024 bytes; longer texts are cut).</summary>
public readonly record struct TcpErrorFrame(TcpErrorCode Code, string Message)
{
    /// <summary>Largest encoded frame.</summary>
    public const int MaxFrameLength = TcpWire.FrameHeaderLength + 4 + TcpWire.MaxErrorMessageBytes;

    /// <summary>Writes the whole frame (at most <see cref="MaxFrameLength"/> bytes).</summary>
    public int Write(Span<byte> destination)
    {
        Span<byte> text = stackalloc byte[TcpWire.MaxErrorMessageBytes];
        int textLength = Truncate(Message, text);
        TcpFrameHeader.Write(destination, TcpFrameType.Error, 4 + textLength);
        BinaryPrimitives.WriteUInt16BigEndian(destination[5..], (ushort)Code);
        BinaryPrimitives.WriteUInt16BigEndian(destination[7..], (ushort)textLength);
        text[..textLength].CopyTo(destination[9..]);
        return TcpWire.FrameHeaderLength + 4 + textLength;
    }

    /// <summary>Parses an ERROR payload; invalid UTF-8 is replaced rather than refused (it is only shown).</summary>
    public static TcpDecodeStatus TryRead(ReadOnlySpan<byte> payload, out TcpErrorFrame error)
    {
        error = default;
        if (payload.Length < 4)
        {
            return TcpDecodeStatus.BadLength;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
        if (length > TcpWire.MaxErrorMessageBytes || payload.Length != 4 + length)
        {
            return TcpDecodeStatus.Malformed;
        }

        error = new TcpErrorFrame((TcpErrorCode)BinaryPrimitives.ReadUInt16BigEndian(payload), Encoding.UTF8.GetString(payload.Slice(4, length)));
        return TcpDecodeStatus.Ok;
    }

    // Cuts on a character boundary so the text stays valid UTF-8.
    private static int Truncate(string message, Span<byte> destination)
    {
        var encoder = Encoding.UTF8.GetEncoder();
        encoder.Convert(message.AsSpan(), destination, flush: true, out _, out int bytesUsed, out _);
        return bytesUsed;
    }
}
