using System.Buffers.Binary;
using System.Text;

namespace Ferry.Protocol.Relay;

/// <summary>
/// Framing shared by every relay datagram: <c>version(1) type(1) session(8) body crc32c(4)</c>, big-endian.
/// The CRC32C covers every byte before it; a datagram whose CRC does not match is dropped and counted.
/// </summary>
public static class RelayWire
{
    public const byte Version = 1;

    /// <summary>Version, type and session id.</summary>
    public const int HeaderLength = 10;

    public const int TrailerLength = 4;

    /// <summary>
    /// Largest datagram either side sends or accepts unless a reader asked for more (UDP payload bytes). Fits any IPv4/IPv6
    /// path with a 1280-byte MTU. Every datagram a client sends, and every server datagram but DELIVER, stays within it.
    /// </summary>
    public const int MaxDatagram = 1200;

    /// <summary>
    /// Largest DELIVER a reader may ask for in REGISTER (<see cref="RelayRegistration.MaxDatagram"/>): below the 65,507-byte
    /// UDP payload limit with room for the secure envelope's overhead. Readers ask for it only where the path cannot fragment
    /// (the same host); the server caps it with its own limit.
    /// </summary>
    public const int MaxLargeDatagram = 65_000;

    /// <summary>Largest line, in UTF-8 bytes. A DELIVER of one maximal line with a maximal author is 1,076 bytes.</summary>
    public const int MaxTextBytes = 1000;

    /// <summary>Largest user name, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 32;

    /// <summary>Largest reserved token field.</summary>
    public const int MaxTokenBytes = 256;

    /// <summary>Largest REFUSED reason text.</summary>
    public const int MaxReasonBytes = 200;

    /// <summary>Most selective-ACK ranges in one ACK.</summary>
    public const int MaxAckRanges = 32;

    /// <summary>Longest --delay a server accepts (one hour).</summary>
    public const uint MaxDelayMillis = 3_600_000;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>UTF-8 that throws on invalid bytes, for validating peer input.</summary>
    public static UTF8Encoding StrictUtf8 => s_strictUtf8;

    /// <summary>CRC32C (Castagnoli) as in iSCSI/ext4: init and final xor 0xFFFFFFFF (the one implementation, <see cref="Common.Crc32C"/>).</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data) => Common.Crc32C.Compute(data);

    /// <summary>Writes the header; the body starts at <see cref="HeaderLength"/>.</summary>
    public static void WriteHeader(Span<byte> buffer, RelayPacketType type, ulong session)
    {
        buffer[0] = Version;
        buffer[1] = (byte)type;
        BinaryPrimitives.WriteUInt64BigEndian(buffer[2..], session);
    }

    /// <summary>Appends the CRC after <paramref name="length"/> bytes of header and body; returns the datagram length.</summary>
    public static int Seal(Span<byte> buffer, int length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer[length..], Crc32C(buffer[..length]));
        return length + TrailerLength;
    }

    /// <summary>Checks length, version and CRC; on success returns the type, session id and body.</summary>
    public static RelayDatagramStatus TryOpen(ReadOnlySpan<byte> datagram, out RelayPacketType type, out ulong session, out ReadOnlySpan<byte> body)
        => TryOpen(datagram, MaxDatagram, out type, out session, out body);

    /// <summary>As <see cref="TryOpen(ReadOnlySpan{byte}, out RelayPacketType, out ulong, out ReadOnlySpan{byte})"/>, accepting datagrams up to <paramref name="maxLength"/> bytes (a reader that asked for large DELIVERs).</summary>
    public static RelayDatagramStatus TryOpen(ReadOnlySpan<byte> datagram, int maxLength, out RelayPacketType type, out ulong session, out ReadOnlySpan<byte> body)
    {
        type = default;
        session = 0;
        body = default;
        if (datagram.Length < HeaderLength + TrailerLength || datagram.Length > maxLength)
        {
            return RelayDatagramStatus.BadLength;
        }

        int end = datagram.Length - TrailerLength;
        if (BinaryPrimitives.ReadUInt32BigEndian(datagram[end..]) != Crc32C(datagram[..end]))
        {
            return RelayDatagramStatus.BadChecksum;
        }

        // The CRC is checked first so a corrupted version byte counts as corruption, not as a foreign version.
        if (datagram[0] != Version)
        {
            return RelayDatagramStatus.BadVersion;
        }

        type = (RelayPacketType)datagram[1];
        session = BinaryPrimitives.ReadUInt64BigEndian(datagram[2..]);
        body = datagram[HeaderLength..end];
        return RelayDatagramStatus.Ok;
    }

    /// <summary>True when <paramref name="name"/> is a valid user name: 1..32 UTF-8 bytes, no control, space or format characters.</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length == 0 || Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
        {
            return false;
        }

        foreach (var rune in name.EnumerateRunes())
        {
            if (Rune.IsControl(rune) || Rune.IsWhiteSpace(rune) || Rune.GetUnicodeCategory(rune) is System.Globalization.UnicodeCategory.Format
                or System.Globalization.UnicodeCategory.Surrogate or System.Globalization.UnicodeCategory.OtherNotAssigned)
            {
                return false;
            }
        }

        return true;
    }
}
