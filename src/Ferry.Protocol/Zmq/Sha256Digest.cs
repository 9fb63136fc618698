using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Ferry.Protocol.Zmq;

/// <summary>A SHA-256 value held inline (no allocation per chunk).</summary>
[InlineArray(32)]
public struct Sha256Digest : IEquatable<Sha256Digest>
{
    private byte _first;

    /// <summary>Hashes <paramref name="data"/>.</summary>
    public static Sha256Digest Of(ReadOnlySpan<byte> data)
    {
        var d = default(Sha256Digest);
        SHA256.HashData(data, d);
        return d;
    }

    /// <summary>Parses exactly 64 lowercase hex digits (the only form the protocol allows).</summary>
    public static bool TryParseLowerHex(ReadOnlySpan<byte> hex, out Sha256Digest digest)
    {
        digest = default;
        if (hex.Length != 64)
        {
            return false;
        }

        Span<byte> bytes = digest;
        for (int i = 0; i < 32; i++)
        {
            int hi = Nibble(hex[2 * i]);
            int lo = Nibble(hex[(2 * i) + 1]);
            if ((hi | lo) < 0)
            {
                return false;
            }

            bytes[i] = (byte)((hi << 4) | lo);
        }

        return true;
    }

    public readonly string ToLowerHex() => Convert.ToHexStringLower((ReadOnlySpan<byte>)this);

    public readonly bool Equals(Sha256Digest other) => ((ReadOnlySpan<byte>)this).SequenceEqual(other);

    public override readonly bool Equals(object? obj) => obj is Sha256Digest d && Equals(d);

    public override readonly int GetHashCode() => System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(this);

    public override readonly string ToString() => ToLowerHex();

    private static int Nibble(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };
}
