using System.Buffers.Binary;
using Ferry.Protocol.Common;

namespace Ferry.Protocol.Udp.Wire;

/// <summary>Packet types of the Ferry UDP protocol (docs/PROTOCOL.md, "udp://").</summary>
public enum PacketType : byte
{
    /// <summary>Client to server, opens a connection; padded to <see cref="Packet.MinInitialSize"/>.</summary>
    Initial = 1,

    /// <summary>Server to client, carries an address-validation token; no packet number, no frames.</summary>
    Retry = 2,

    /// <summary>Everything after the handshake, both directions.</summary>
    Data = 3,

    /// <summary>
    /// Server to client, stateless: a SERVER_HELLO answering a first HELLO, with the token that carries the handshake
    /// back (<see cref="HandshakeTokens"/>); no packet number, cleartext frames, sent only to a client that offered it.
    /// </summary>
    Handshake = 4,
}

/// <summary>A parsed packet header. Frames are the bytes in <see cref="Payload"/>.</summary>
public readonly ref struct PacketView
{
    public PacketType Type { get; init; }

    public ulong DestinationId { get; init; }

    public ulong PacketNumber { get; init; }

    /// <summary>Initial only: the client's connection id.</summary>
    public ulong SourceId { get; init; }

    /// <summary>Initial, Retry and Handshake: the address-validation token (may be empty in Initial).</summary>
    public ReadOnlySpan<byte> Token { get; init; }

    /// <summary>The frames (Initial and Data); ciphertext when <see cref="Protected"/>.</summary>
    public ReadOnlySpan<byte> Payload { get; init; }

    /// <summary>The payload is AES-256-GCM ciphertext and <see cref="Tag"/> its tag (flag bit 0); otherwise a CRC-32C checked it.</summary>
    public bool Protected { get; init; }

    /// <summary>Everything before the payload: the associated data of a protected packet.</summary>
    public ReadOnlySpan<byte> Header { get; init; }

    /// <summary>The 16-byte AEAD tag of a protected packet.</summary>
    public ReadOnlySpan<byte> Tag { get; init; }
}

/// <summary>Why a datagram was not accepted as a packet.</summary>
public enum PacketError
{
    None = 0,
    TooShort,
    BadMagic,
    UnsupportedVersion,
    BadChecksum,
    UnknownType,
    Malformed,
}

/// <summary>Packet layout: encode and decode, with the CRC-32C trailer. All multi-byte integers are big-endian.</summary>
public static class Packet
{
    public const byte Magic = 0xF7;
    public const byte Version = 2;
    public const int HeaderSize = 20;   // magic, version, type, flags, dcid(8), pn(8)
    public const int TrailerSize = 4;   // CRC-32C of a cleartext packet

    /// <summary>Flags bit: the payload is encrypted and ends with a 16-byte AEAD tag instead of the CRC-32C.</summary>
    public const byte FlagProtected = 0x01;

    /// <summary>The AEAD tag that ends a protected packet.</summary>
    public const int TagSize = 16;
    public const int MaxTokenLength = 128;

    /// <summary>
    /// The size of every Initial datagram (padded with PADDING up to it; a server drops Initials of any other size), so
    /// the server may answer with up to 3x without amplifying, and a REQUEST is bounded by it.
    /// </summary>
    public const int MinInitialSize = 1200;

    /// <summary>Default UDP payload: 1500-byte MTU minus IPv6 (40) and UDP (8) headers, so it fits IPv4 and IPv6.</summary>
    public const int DefaultMaxDatagram = 1452;

    /// <summary>Smallest datagram size a peer may negotiate.</summary>
    public const int MinMaxDatagram = 1200;

    /// <summary>Largest UDP payload over IPv4.</summary>
    public const int MaxMaxDatagram = 65507;

    /// <summary>Writes the common header; returns the offset where type-specific fields or frames start.</summary>
    public static int WriteHeader(Span<byte> buffer, PacketType type, ulong destinationId, ulong packetNumber)
    {
        buffer[0] = Magic;
        buffer[1] = Version;
        buffer[2] = (byte)type;
        buffer[3] = 0;
        BinaryPrimitives.WriteUInt64BigEndian(buffer[4..], destinationId);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[12..], packetNumber);
        return HeaderSize;
    }

    /// <summary>Appends the CRC-32C of buffer[0..length) and returns the total datagram length.</summary>
    public static int Seal(Span<byte> buffer, int length)
    {
        uint crc = Crc32C.Compute(buffer[..length]);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[length..], crc);
        return length + TrailerSize;
    }

    /// <summary>Builds a Retry packet into <paramref name="buffer"/>; returns its length.</summary>
    public static int WriteRetry(Span<byte> buffer, ulong clientId, ReadOnlySpan<byte> token) =>
        WriteTokenPacket(buffer, PacketType.Retry, clientId, token, ReadOnlySpan<byte>.Empty);

    /// <summary>
    /// The token an encrypted client puts in its first Initials to say it takes a stateless SERVER_HELLO (a Handshake
    /// packet) instead of a Retry. A server that does not know it treats it as an invalid token and sends a Retry.
    /// </summary>
    public static ReadOnlySpan<byte> StatelessHelloOffer => [0x01];

    /// <summary>Builds a Handshake packet carrying <paramref name="token"/> and the frames in <paramref name="frames"/>; returns its length.</summary>
    public static int WriteHandshake(Span<byte> buffer, ulong clientId, ReadOnlySpan<byte> token, ReadOnlySpan<byte> frames) =>
        WriteTokenPacket(buffer, PacketType.Handshake, clientId, token, frames);

    /// <summary>The stateless server packets (Retry, Handshake): header with packet number 0, token, frames, CRC.</summary>
    private static int WriteTokenPacket(Span<byte> buffer, PacketType type, ulong clientId, ReadOnlySpan<byte> token, ReadOnlySpan<byte> frames)
    {
        int pos = WriteHeader(buffer, type, clientId, 0);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[pos..], (ushort)token.Length);
        pos += 2;
        token.CopyTo(buffer[pos..]);
        pos += token.Length;
        frames.CopyTo(buffer[pos..]);
        pos += frames.Length;
        return Seal(buffer, pos);
    }

    /// <summary>Reads the destination id without validating anything else (for demultiplexing before the full parse).</summary>
    public static bool TryPeekDestination(ReadOnlySpan<byte> datagram, out PacketType type, out ulong destinationId)
    {
        if (datagram.Length < HeaderSize + TrailerSize || datagram[0] != Magic)
        {
            type = default;
            destinationId = 0;
            return false;
        }

        type = (PacketType)datagram[2];
        destinationId = BinaryPrimitives.ReadUInt64BigEndian(datagram[4..]);
        return true;
    }

    /// <summary>Validates the checksum and parses the header. Never throws.</summary>
    public static PacketError TryParse(ReadOnlySpan<byte> datagram, out PacketView packet)
    {
        packet = default;
        if (datagram.Length < HeaderSize + TrailerSize)
        {
            return PacketError.TooShort;
        }

        if (datagram[0] != Magic)
        {
            return PacketError.BadMagic;
        }

        if (datagram[1] != Version)
        {
            return PacketError.UnsupportedVersion;
        }

        bool isProtected = (datagram[3] & FlagProtected) != 0;
        if ((datagram[3] & ~FlagProtected) != 0)
        {
            return PacketError.Malformed;
        }

        int body;
        if (isProtected)
        {
            // The AEAD tag authenticates header and payload; the connection checks it (it has the keys).
            if (datagram.Length < HeaderSize + TagSize || datagram[2] is (byte)PacketType.Retry or (byte)PacketType.Handshake)
            {
                return PacketError.Malformed;
            }

            body = datagram.Length - TagSize;
        }
        else
        {
            body = datagram.Length - TrailerSize;
            if (Crc32C.Compute(datagram[..body]) != BinaryPrimitives.ReadUInt32BigEndian(datagram[body..]))
            {
                return PacketError.BadChecksum;
            }
        }

        var tag = isProtected ? datagram[body..] : ReadOnlySpan<byte>.Empty;

        var type = (PacketType)datagram[2];
        ulong dcid = BinaryPrimitives.ReadUInt64BigEndian(datagram[4..]);
        ulong pn = BinaryPrimitives.ReadUInt64BigEndian(datagram[12..]);
        if (pn > VarInt.MaxValue)
        {
            // ACK frames carry packet numbers as varints: a larger one could never be acknowledged (and used to
            // make the ACK writer throw).
            return PacketError.Malformed;
        }

        var rest = datagram[HeaderSize..body];
        switch (type)
        {
            case PacketType.Data:
                packet = new PacketView
                {
                    Type = type, DestinationId = dcid, PacketNumber = pn, Payload = rest,
                    Protected = isProtected, Header = datagram[..HeaderSize], Tag = tag,
                };
                return PacketError.None;
            case PacketType.Initial:
            {
                if (rest.Length < 10)
                {
                    return PacketError.Malformed;
                }

                ulong scid = BinaryPrimitives.ReadUInt64BigEndian(rest);
                int tokenLength = BinaryPrimitives.ReadUInt16BigEndian(rest[8..]);
                if (tokenLength > MaxTokenLength || rest.Length < 10 + tokenLength)
                {
                    return PacketError.Malformed;
                }

                packet = new PacketView
                {
                    Type = type,
                    DestinationId = dcid,
                    PacketNumber = pn,
                    SourceId = scid,
                    Token = rest.Slice(10, tokenLength),
                    Payload = rest[(10 + tokenLength)..],
                    Protected = isProtected,
                    Header = datagram[..(HeaderSize + 10 + tokenLength)],
                    Tag = tag,
                };
                return PacketError.None;
            }

            case PacketType.Retry or PacketType.Handshake:
            {
                // A token, then frames: none in a Retry; a Handshake's token is never empty.
                if (rest.Length < 2)
                {
                    return PacketError.Malformed;
                }

                int tokenLength = BinaryPrimitives.ReadUInt16BigEndian(rest);
                bool retry = type == PacketType.Retry;
                if (tokenLength > MaxTokenLength || rest.Length < 2 + tokenLength
                    || (retry ? rest.Length != 2 + tokenLength : tokenLength == 0))
                {
                    return PacketError.Malformed;
                }

                packet = new PacketView { Type = type, DestinationId = dcid, Token = rest.Slice(2, tokenLength), Payload = rest[(2 + tokenLength)..] };
                return PacketError.None;
            }

            default:
                return PacketError.UnknownType;
        }
    }
}
