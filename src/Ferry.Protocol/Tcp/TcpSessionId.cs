using System.Buffers.Binary;

namespace Ferry.Protocol.Tcp;

/// <summary>
/// A 128-bit session identifier. The server draws it from a cryptographic RNG; knowing it is what lets a
/// data connection join a session, so it must be unguessable. Value type so it can key a dictionary.
/// </summary>
public readonly record struct TcpSessionId(ulong High, ulong Low)
{
    /// <summary>Reads 16 bytes (big-endian halves).</summary>
    public static TcpSessionId Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]));

    /// <summary>Writes the 16 wire bytes.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
    }

    /// <summary>Short form for logs: the first 8 hex digits are enough to correlate, and reveal too little to join.</summary>
    public override string ToString() => (High >> 32).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
}
