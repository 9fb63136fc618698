using System.Buffers.Binary;
using System.Text;

namespace Ferry.Protocol.Tftp;

/// <summary>
/// Decodes TFTP datagrams. Every method bounds what it reads by the datagram length and reports malformed input
/// as a <see cref="TftpParseError"/> or false; nothing here throws on peer input.
/// </summary>
public static class TftpPacketReader
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the opcode; false when shorter than 2 bytes or not a known opcode.</summary>
    public static bool TryReadOpcode(ReadOnlySpan<byte> datagram, out TftpOpcode opcode)
    {
        opcode = 0;
        if (datagram.Length < 2)
        {
            return false;
        }

        ushort raw = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        if (raw is < 1 or > 6)
        {
            return false;
        }

        opcode = (TftpOpcode)raw;
        return true;
    }

    /// <summary>Decodes an RRQ or WRQ: opcode, file name NUL, mode NUL, then option name NUL value NUL pairs.</summary>
    public static TftpParseError ReadRequest(ReadOnlySpan<byte> datagram, out TftpRequest? request)
    {
        request = null;
        if (datagram.Length < 2)
        {
            return TftpParseError.Truncated;
        }

        if (!TryReadOpcode(datagram, out var opcode) || opcode is not (TftpOpcode.Rrq or TftpOpcode.Wrq))
        {
            return TftpParseError.UnknownOpcode;
        }

        if (datagram.Length > TftpLimits.MaxRequestLength)
        {
            return TftpParseError.TooLong;
        }

        var rest = datagram[2..];
        if (!TryTakeString(ref rest, out var nameBytes))
        {
            return TftpParseError.UnterminatedString;
        }

        if (!TryTakeString(ref rest, out var modeBytes))
        {
            return TftpParseError.UnterminatedString;
        }

        string fileName;
        try
        {
            fileName = s_strictUtf8.GetString(nameBytes);
        }
        catch (DecoderFallbackException)
        {
            return TftpParseError.BadFileName;
        }

        if (fileName.Length == 0)
        {
            return TftpParseError.BadFileName;
        }

        TftpMode mode;
        if (AsciiEquals(modeBytes, "octet"))
        {
            mode = TftpMode.Octet;
        }
        else if (AsciiEquals(modeBytes, "netascii"))
        {
            mode = TftpMode.NetAscii;
        }
        else
        {
            return TftpParseError.BadMode;
        }

        var options = new List<TftpOption>();
        var error = ReadOptions(rest, options);
        if (error != TftpParseError.None)
        {
            return error;
        }

        request = new TftpRequest(opcode, fileName, mode, options);
        return TftpParseError.None;
    }

    /// <summary>Decodes an OACK: opcode 6 followed by option name/value pairs.</summary>
    public static TftpParseError ReadOack(ReadOnlySpan<byte> datagram, out IReadOnlyList<TftpOption> options)
    {
        options = Array.Empty<TftpOption>();
        if (!TryReadOpcode(datagram, out var opcode) || opcode != TftpOpcode.Oack)
        {
            return datagram.Length < 2 ? TftpParseError.Truncated : TftpParseError.UnknownOpcode;
        }

        if (datagram.Length > TftpLimits.MaxRequestLength)
        {
            return TftpParseError.TooLong;
        }

        var list = new List<TftpOption>();
        var error = ReadOptions(datagram[2..], list);
        if (error == TftpParseError.None)
        {
            options = list;
        }

        return error;
    }

    /// <summary>Decodes DATA: the payload is a slice of <paramref name="datagram"/> (no copy).</summary>
    public static bool TryReadData(ReadOnlySpan<byte> datagram, out ushort block, out ReadOnlySpan<byte> payload)
    {
        block = 0;
        payload = default;
        if (datagram.Length < TftpLimits.DataHeaderLength || BinaryPrimitives.ReadUInt16BigEndian(datagram) != (ushort)TftpOpcode.Data)
        {
            return false;
        }

        block = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        payload = datagram[TftpLimits.DataHeaderLength..];
        return true;
    }

    /// <summary>Decodes ACK. Bytes after the block number are ignored (some stacks pad).</summary>
    public static bool TryReadAck(ReadOnlySpan<byte> datagram, out ushort block)
    {
        block = 0;
        if (datagram.Length < 4 || BinaryPrimitives.ReadUInt16BigEndian(datagram) != (ushort)TftpOpcode.Ack)
        {
            return false;
        }

        block = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        return true;
    }

    /// <summary>
    /// Decodes ERROR leniently: a missing terminator takes the rest as the message. The message is cut to
    /// <see cref="TftpLimits.MaxErrorMessageChars"/> and control characters are replaced, so it is safe to log.
    /// </summary>
    public static bool TryReadError(ReadOnlySpan<byte> datagram, out TftpErrorCode code, out string message)
    {
        code = TftpErrorCode.NotDefined;
        message = string.Empty;
        if (datagram.Length < 4 || BinaryPrimitives.ReadUInt16BigEndian(datagram) != (ushort)TftpOpcode.Error)
        {
            return false;
        }

        code = (TftpErrorCode)BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        var text = datagram[4..];
        int nul = text.IndexOf((byte)0);
        if (nul >= 0)
        {
            text = text[..nul];
        }

        if (text.Length > TftpLimits.MaxErrorMessageChars)
        {
            text = text[..TftpLimits.MaxErrorMessageChars];
        }

        Span<char> chars = stackalloc char[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            byte b = text[i];
            chars[i] = b is >= 0x20 and < 0x7F ? (char)b : '?';
        }

        message = new string(chars);
        return true;
    }

    private static TftpParseError ReadOptions(ReadOnlySpan<byte> rest, List<TftpOption> options)
    {
        while (rest.Length > 0)
        {
            if (!TryTakeString(ref rest, out var name))
            {
                return TftpParseError.UnterminatedString;
            }

            // Some clients pad requests with NULs: an empty option name ends the list.
            if (name.Length == 0)
            {
                break;
            }

            if (!TryTakeString(ref rest, out var value))
            {
                return TftpParseError.BadOptions;
            }

            if (options.Count == TftpLimits.MaxOptions)
            {
                return TftpParseError.BadOptions;
            }

            if (!IsPrintableAscii(name) || !IsPrintableAscii(value))
            {
                return TftpParseError.BadOptions;
            }

            options.Add(new TftpOption(Encoding.ASCII.GetString(name), Encoding.ASCII.GetString(value)));
        }

        return TftpParseError.None;
    }

    private static bool TryTakeString(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> value)
    {
        int nul = rest.IndexOf((byte)0);
        if (nul < 0)
        {
            value = default;
            return false;
        }

        value = rest[..nul];
        rest = rest[(nul + 1)..];
        return true;
    }

    private static bool AsciiEquals(ReadOnlySpan<byte> bytes, string lowerText)
    {
        if (bytes.Length != lowerText.Length)
        {
            return false;
        }

        for (int i = 0; i < bytes.Length; i++)
        {
            int c = bytes[i];
            if (c is >= 'A' and <= 'Z')
            {
                c += 'a' - 'A';
            }

            if (c != lowerText[i])
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsPrintableAscii(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            if (b is < 0x20 or >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }
}
