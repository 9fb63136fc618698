using System.Buffers.Binary;
using System.Text;

namespace Ferry.Protocol.Tftp;

/// <summary>
/// Encodes TFTP packets into a caller's buffer and returns the length written. The buffer must be large enough
/// (<see cref="TftpLimits.MaxPacketLength"/> always is); error messages are cut to fit.
/// </summary>
public static class TftpPacketWriter
{
    /// <summary>Writes an RRQ or WRQ. The mode is written in lower case as RFC 1350 spells it.</summary>
    public static int WriteRequest(Span<byte> destination, TftpOpcode opcode, string fileName, TftpMode mode, IReadOnlyList<TftpOption> options)
    {
        if (opcode is not (TftpOpcode.Rrq or TftpOpcode.Wrq))
        {
            throw new ArgumentOutOfRangeException(nameof(opcode), opcode, "a request is RRQ or WRQ");
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)opcode);
        int n = 2;
        n += WriteString(destination[n..], fileName, Encoding.UTF8);
        n += WriteString(destination[n..], mode == TftpMode.Octet ? "octet" : "netascii", Encoding.ASCII);
        n += WriteOptions(destination[n..], options);
        return n;
    }

    /// <summary>Writes a DATA header; the caller puts the payload at <c>destination[4..]</c>.</summary>
    public static int WriteDataHeader(Span<byte> destination, ushort block)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)TftpOpcode.Data);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], block);
        return TftpLimits.DataHeaderLength;
    }

    /// <summary>Writes a whole DATA packet (copying the payload).</summary>
    public static int WriteData(Span<byte> destination, ushort block, ReadOnlySpan<byte> payload)
    {
        WriteDataHeader(destination, block);
        payload.CopyTo(destination[TftpLimits.DataHeaderLength..]);
        return TftpLimits.DataHeaderLength + payload.Length;
    }

    public static int WriteAck(Span<byte> destination, ushort block)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)TftpOpcode.Ack);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], block);
        return 4;
    }

    /// <summary>Writes an ERROR; the message is made printable ASCII and cut to fit the buffer.</summary>
    public static int WriteError(Span<byte> destination, TftpErrorCode code, string message)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)TftpOpcode.Error);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)code);
        int room = Math.Min(destination.Length - 5, TftpLimits.MaxErrorMessageChars);
        int n = 4;
        for (int i = 0; i < message.Length && i < room; i++)
        {
            char c = message[i];
            destination[n++] = c is >= ' ' and < (char)0x7F ? (byte)c : (byte)'?';
        }

        destination[n++] = 0;
        return n;
    }

    public static int WriteOack(Span<byte> destination, IReadOnlyList<TftpOption> options)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)TftpOpcode.Oack);
        return 2 + WriteOptions(destination[2..], options);
    }

    private static int WriteOptions(Span<byte> destination, IReadOnlyList<TftpOption> options)
    {
        int n = 0;
        foreach (var o in options)
        {
            n += WriteString(destination[n..], o.Name, Encoding.ASCII);
            n += WriteString(destination[n..], o.Value, Encoding.ASCII);
        }

        return n;
    }

    private static int WriteString(Span<byte> destination, string text, Encoding encoding)
    {
        int n = encoding.GetBytes(text, destination);
        destination[n] = 0;
        return n + 1;
    }
}
