using System.Buffers.Binary;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// Seeded mutations of byte strings, in the spirit of libFuzzer's mutators: bit flips, interesting byte values,
/// truncation, extension, splicing with another input, length-field and varint inflation, duplicated and deleted
/// chunks. Deterministic for a given <see cref="Random"/> seed.
/// </summary>
internal sealed class Mutator
{
    private static readonly byte[] s_interestingBytes = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0x40, 0xC0, 0x3F, 0xFE];
    private readonly Random _rng;
    private readonly int _maxLength;

    public Mutator(Random rng, int maxLength)
    {
        _rng = rng;
        _maxLength = maxLength;
    }

    /// <summary>Applies one to four random mutations to a copy of <paramref name="input"/>.</summary>
    public byte[] Mutate(byte[] input, IReadOnlyList<byte[]> corpus)
    {
        var data = new List<byte>(input);
        int rounds = 1 + _rng.Next(4);
        for (int i = 0; i < rounds; i++)
        {
            MutateOnce(data, corpus);
        }

        if (data.Count > _maxLength)
        {
            data.RemoveRange(_maxLength, data.Count - _maxLength);
        }

        return data.ToArray();
    }

    private void MutateOnce(List<byte> d, IReadOnlyList<byte[]> corpus)
    {
        switch (_rng.Next(12))
        {
            case 0 when d.Count > 0:
                // Flip one bit.
                int bit = _rng.Next(d.Count * 8);
                d[bit / 8] ^= (byte)(1 << (bit % 8));
                break;
            case 1 when d.Count > 0:
                d[_rng.Next(d.Count)] = s_interestingBytes[_rng.Next(s_interestingBytes.Length)];
                break;
            case 2 when d.Count > 0:
                d[_rng.Next(d.Count)] = (byte)_rng.Next(256);
                break;
            case 3 when d.Count > 0:
                // Truncate.
            {
                int keep = _rng.Next(d.Count);
                d.RemoveRange(keep, d.Count - keep);
                break;
            }

            case 4:
            {
                // Extend with random or repeated bytes.
                int n = 1 + _rng.Next(_rng.Next(2) == 0 ? 16 : 2048);
                byte fill = (byte)_rng.Next(256);
                bool random = _rng.Next(2) == 0;
                for (int i = 0; i < n; i++)
                {
                    d.Add(random ? (byte)_rng.Next(256) : fill);
                }

                break;
            }

            case 5 when corpus.Count > 0:
            {
                // Splice: our prefix, another input's suffix.
                var other = corpus[_rng.Next(corpus.Count)];
                int cut = d.Count == 0 ? 0 : _rng.Next(d.Count);
                int from = other.Length == 0 ? 0 : _rng.Next(other.Length);
                d.RemoveRange(cut, d.Count - cut);
                d.AddRange(other.AsSpan(from).ToArray());
                break;
            }

            case 6 when d.Count >= 2:
            {
                // Inflate a 16- or 32-bit big-endian field (a length or count) to something large.
                int width = _rng.Next(2) == 0 || d.Count < 4 ? 2 : 4;
                int at = _rng.Next(d.Count - width + 1);
                Span<byte> v = stackalloc byte[4];
                if (width == 2)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(v, (ushort)PickLarge(ushort.MaxValue));
                }
                else
                {
                    BinaryPrimitives.WriteUInt32BigEndian(v, (uint)PickLarge(uint.MaxValue));
                }

                for (int i = 0; i < width; i++)
                {
                    d[at + i] = v[i];
                }

                break;
            }

            case 7 when d.Count > 0:
            {
                // Replace a byte by a large QUIC varint (1, 2, 4 or 8 bytes): lengths, counts and offsets jump up.
                int at = _rng.Next(d.Count);
                int size = 1 << _rng.Next(4);
                var big = new byte[size];
                _rng.NextBytes(big);
                big[0] = (byte)((big[0] & 0x3F) | ((size switch { 1 => 0, 2 => 1, 4 => 2, _ => 3 }) << 6));
                d.RemoveAt(at);
                d.InsertRange(at, big);
                break;
            }

            case 8 when d.Count > 0:
            {
                // Duplicate a chunk in place.
                int at = _rng.Next(d.Count);
                int len = 1 + _rng.Next(Math.Min(64, d.Count - at));
                var chunk = d.GetRange(at, len);
                int times = 1 + _rng.Next(_rng.Next(4) == 0 ? 64 : 3);
                for (int i = 0; i < times && d.Count < _maxLength; i++)
                {
                    d.InsertRange(at, chunk);
                }

                break;
            }

            case 9 when d.Count > 0:
            {
                // Delete a chunk.
                int at = _rng.Next(d.Count);
                d.RemoveRange(at, 1 + _rng.Next(Math.Min(32, d.Count - at)));
                break;
            }

            case 10 when d.Count > 1:
            {
                // Swap two bytes.
                int a = _rng.Next(d.Count), b = _rng.Next(d.Count);
                (d[a], d[b]) = (d[b], d[a]);
                break;
            }

            case 11 when d.Count > 0:
                // Small arithmetic on a byte (off-by-one lengths).
                int k = _rng.Next(d.Count);
                d[k] = (byte)(d[k] + _rng.Next(-3, 4));
                break;
            default:
                d.Add((byte)_rng.Next(256));
                break;
        }
    }

    private long PickLarge(long max) => _rng.Next(5) switch
    {
        0 => max,
        1 => max / 2 + 1,
        2 => max / 2,
        3 => 0,
        _ => _rng.NextInt64(max + 1),
    };
}
