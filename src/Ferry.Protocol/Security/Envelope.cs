using System.Buffers.Binary;

namespace Ferry.Protocol.Security;

/// <summary>
/// The secure envelope: a thin layer that encrypts any datagram protocol (the relay uses it) with the Ferry
/// secure channel. Layout (docs/PROTOCOL.md, "Secure envelope"):
/// <code>
/// 0  1  magic 0xF5
/// 1  1  type: 1 HELLO, 2 SERVER_HELLO, 3 SEALED, 4 REFUSED
/// 2  8  channel id (chosen by the client, random, non-zero)
/// HELLO         10: ClientHello (99 bytes), zero padding to 1200 bytes in all
/// SERVER_HELLO  10: ServerHello
/// SEALED        10: 8 counter; 18: AES-256-GCM ciphertext of the inner datagram; 16-byte tag. AAD = bytes 0..18
/// REFUSED       10: 1 code, reason (UTF-8, at most 200 bytes; may be empty)
/// </code>
/// </summary>
public static class Envelope
{
    public const byte Magic = 0xF5;
    public const byte TypeHello = 1;
    public const byte TypeServerHello = 2;
    public const byte TypeSealed = 3;
    public const byte TypeRefused = 4;

    public const int HeaderSize = 10;
    public const int SealedHeaderSize = 18;

    /// <summary>Bytes a sealed datagram adds to its inner datagram.</summary>
    public const int Overhead = SealedHeaderSize + PacketProtector.TagSize;

    /// <summary>HELLO datagrams are padded to this size, so a server's answer never amplifies.</summary>
    public const int HelloSize = 1200;

    public const int MaxReasonBytes = 200;

    /// <summary>Refusal codes.</summary>
    public const byte RefusedEncryptionRequired = 1;
    public const byte RefusedEncryptionUnavailable = 2;
    public const byte RefusedHandshake = 3;
    public const byte RefusedBusy = 4;

    /// <summary>A sealed datagram for a channel the server does not know (it restarted): the client starts a new handshake.</summary>
    public const byte RefusedUnknownChannel = 5;

    /// <summary>True when <paramref name="datagram"/> is an envelope (rather than a cleartext inner datagram).</summary>
    public static bool IsEnvelope(ReadOnlySpan<byte> datagram) => datagram.Length >= HeaderSize && datagram[0] == Magic;

    /// <summary>The context bytes of an envelope handshake: a label, the protocol name and the channel id.</summary>
    public static byte[] Context(string protocol, ulong channel)
    {
        var label = System.Text.Encoding.ASCII.GetBytes("ferry envelope " + protocol);
        var context = new byte[label.Length + 8];
        label.CopyTo(context, 0);
        BinaryPrimitives.WriteUInt64BigEndian(context.AsSpan(label.Length), channel);
        return context;
    }

    internal static void WriteHeader(Span<byte> buffer, byte type, ulong channel)
    {
        buffer[0] = Magic;
        buffer[1] = type;
        BinaryPrimitives.WriteUInt64BigEndian(buffer[2..], channel);
    }

    public static ulong ChannelOf(ReadOnlySpan<byte> datagram) => BinaryPrimitives.ReadUInt64BigEndian(datagram[2..]);

    /// <summary>Writes a REFUSED datagram; returns its length.</summary>
    public static int WriteRefused(Span<byte> buffer, ulong channel, byte code, string reason)
    {
        WriteHeader(buffer, TypeRefused, channel);
        buffer[HeaderSize] = code;
        var bytes = System.Text.Encoding.UTF8.GetBytes(reason);
        int n = Math.Min(bytes.Length, MaxReasonBytes);
        bytes.AsSpan(0, n).CopyTo(buffer[(HeaderSize + 1)..]);
        return HeaderSize + 1 + n;
    }

    /// <summary>Reads a REFUSED datagram's reason; false when it is not one.</summary>
    public static bool TryReadRefused(ReadOnlySpan<byte> datagram, out byte code, out string reason)
    {
        code = 0;
        reason = string.Empty;
        if (!IsEnvelope(datagram) || datagram[1] != TypeRefused || datagram.Length < HeaderSize + 1 || datagram.Length > HeaderSize + 1 + MaxReasonBytes)
        {
            return false;
        }

        code = datagram[HeaderSize];
        reason = System.Text.Encoding.UTF8.GetString(datagram[(HeaderSize + 1)..]);
        return true;
    }

    /// <summary>Seals <paramref name="inner"/> into <paramref name="output"/>; returns the datagram length.</summary>
    internal static int Seal(SessionKeys keys, ulong channel, ref ulong counter, ReadOnlySpan<byte> inner, Span<byte> output)
    {
        if (output.Length < inner.Length + Overhead)
        {
            throw new ArgumentException("output too small for the sealed datagram", nameof(output));
        }

        WriteHeader(output, TypeSealed, channel);
        ulong n = counter++;
        BinaryPrimitives.WriteUInt64BigEndian(output[HeaderSize..], n);
        inner.CopyTo(output[SealedHeaderSize..]);
        keys.Send.Seal(n, output[..SealedHeaderSize], output.Slice(SealedHeaderSize, inner.Length), output.Slice(SealedHeaderSize + inner.Length, PacketProtector.TagSize));
        return inner.Length + Overhead;
    }

    /// <summary>Opens a SEALED datagram into <paramref name="output"/>; -1 when it does not authenticate or is a replay.</summary>
    internal static int Open(SessionKeys keys, ReplayWindow replay, ReadOnlySpan<byte> datagram, Span<byte> output)
    {
        if (datagram.Length < Overhead || datagram[1] != TypeSealed)
        {
            return -1;
        }

        ulong n = BinaryPrimitives.ReadUInt64BigEndian(datagram[HeaderSize..]);
        if (!replay.MayAccept(n))
        {
            return -1;
        }

        int length = datagram.Length - Overhead;
        if (output.Length < length
            || !keys.Receive.TryOpen(n, datagram[..SealedHeaderSize], datagram.Slice(SealedHeaderSize, length), datagram[^PacketProtector.TagSize..], output))
        {
            return -1;
        }

        replay.Accept(n);
        return length;
    }
}
