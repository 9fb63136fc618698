using System.Buffers.Binary;
using System.Numerics;

namespace Ferry.Protocol.Relay;

/// <summary>
/// Author names a reader decoded, by their UTF-8 bytes: a DELIVER carries many lines of a few authors, and reusing the
/// string spares one allocation and one UTF-8 validation per message. Direct-mapped by a hash of the bytes, so a lookup
/// compares one entry however many authors are active (a busy room has more than a linear scan could hold).
/// </summary>
internal sealed class RelayNameCache
{
    private const int SizeBits = 8;
    private const int Size = 1 << SizeBits;
    private readonly byte[]?[] _bytes = new byte[Size][];
    private readonly string[] _names = new string[Size];

    /// <summary>The name for <paramref name="utf8"/>; false when the bytes are not valid UTF-8.</summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out string name)
    {
        int slot = Slot(utf8);
        if (_bytes[slot] is { } cached && utf8.SequenceEqual(cached))
        {
            name = _names[slot];
            return true;
        }

        try
        {
            name = RelayWire.StrictUtf8.GetString(utf8);
        }
        catch (System.Text.DecoderFallbackException)
        {
            name = string.Empty;
            return false;
        }

        _bytes[slot] = utf8.ToArray();
        _names[slot] = name;
        return true;
    }

    /// <summary>
    /// A cheap hash of a name: its length and its first and last (up to) eight bytes, multiplied (Fibonacci hashing). Names
    /// that differ only in the middle share a slot, which costs a decode, never a wrong name (the bytes are compared).
    /// </summary>
    private static int Slot(ReadOnlySpan<byte> utf8)
    {
        ulong h = (ulong)utf8.Length;
        if (utf8.Length >= 8)
        {
            h ^= BinaryPrimitives.ReadUInt64LittleEndian(utf8) ^ BitOperations.RotateLeft(BinaryPrimitives.ReadUInt64LittleEndian(utf8[^8..]), 29);
        }
        else
        {
            foreach (byte b in utf8)
            {
                h = (h << 8) | b;
            }
        }

        return (int)((h * 0x9E3779B97F4A7C15UL) >> (64 - SizeBits));
    }
}
