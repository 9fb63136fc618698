using Ferry.Transfers;

namespace Ferry.Tests.Transfers;

/// <summary>How users write rates (<c>--limit-rate</c>, <c>--max-rate</c>, <c>--max-total-rate</c>).</summary>
public class RateLimitsTests
{
    [Theory]
    [InlineData("40M", 40_000_000)]
    [InlineData("40m", 40_000_000)]
    [InlineData("1.5G", 1_500_000_000)]
    [InlineData("500K", 500_000)]
    [InlineData("40Mbit", 40_000_000)]
    [InlineData("40Mbit/s", 40_000_000)]
    [InlineData(" 100Mbps ", 100_000_000)]
    [InlineData("64000", 64_000)]
    [InlineData("0", 0)]
    [InlineData("2T", 2_000_000_000_000)]
    public void Parses_decimal_bit_rates(string text, long expected)
    {
        Assert.True(RateLimits.TryParse(text, out long bits, out string error), error);
        Assert.Equal(expected, bits);
    }

    [Theory]
    [InlineData("")]
    [InlineData("M")]
    [InlineData("40X")]
    [InlineData("-5M")]
    [InlineData("40 MiB")]
    [InlineData("1e6")]
    [InlineData("7")]
    [InlineData("9T")]
    public void Refuses_what_is_not_a_rate_with_a_sentence(string text)
    {
        Assert.False(RateLimits.TryParse(text, out _, out string error));
        Assert.Contains($"'{text}'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(40_000_000, "40 Mbit/s")]
    [InlineData(1_500_000_000, "1.5 Gbit/s")]
    [InlineData(800_000, "800 kbit/s")]
    [InlineData(0, "none")]
    public void Formats_for_people(long bits, string expected) => Assert.Equal(expected, RateLimits.Format(bits));
}
