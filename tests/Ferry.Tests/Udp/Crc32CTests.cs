using System.Runtime.Intrinsics.X86;
using Ferry.Protocol.Common;

namespace Ferry.Tests.Udp;

/// <summary>The three-lane CRC-32C path must give exactly what the one-CRC-at-a-time path gives, at every length.</summary>
public class Crc32CTests
{
    [Fact]
    public void Check_value_of_the_standard()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0xE3069283u, Crc32C.ComputeSerial("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute(ReadOnlySpan<byte>.Empty));
    }

    [FastCrcFact]
    public void Three_lane_path_matches_the_serial_path_at_every_length_up_to_four_blocks()
    {
        var rng = new Random(32);
        var data = new byte[(4 * 3 * Crc32C.LaneBytes) + 64];
        rng.NextBytes(data);
        for (int length = 0; length <= data.Length; length++)
        {
            int offset = length % 7; // unaligned starts too
            var span = data.AsSpan(offset, Math.Min(length, data.Length - offset));
            Assert.Equal(Crc32C.ComputeSerial(span), Crc32C.Compute(span));
        }
    }

    [Fact]
    public void Known_values_of_zeros_and_ones_over_the_lane_boundary()
    {
        // iSCSI test patterns (RFC 3720, appendix B.4): 32 bytes of zeros, 32 bytes of 0xFF.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        var block = new byte[3 * Crc32C.LaneBytes * 2];
        new Random(5).NextBytes(block);
        block[Crc32C.LaneBytes] ^= 0x80; // a change in the second lane must change the CRC
        uint with = Crc32C.Compute(block);
        block[Crc32C.LaneBytes] ^= 0x80;
        Assert.NotEqual(with, Crc32C.Compute(block));
        Assert.Equal(Crc32C.ComputeSerial(block), Crc32C.Compute(block));
    }
}

/// <summary>A fact about the three-lane CRC path: skipped, with the reason, on a CPU without SSE 4.2 (x64) and PCLMULQDQ.</summary>
public sealed class FastCrcFactAttribute : FactAttribute
{
    public FastCrcFactAttribute()
    {
        if (!(Pclmulqdq.IsSupported && Sse42.X64.IsSupported))
        {
            Skip = "the CPU lacks SSE 4.2 (x64) or PCLMULQDQ, so Crc32C.Compute takes the serial path only";
        }
    }
}
