using System.Globalization;

namespace Ferry.Transfers;

/// <summary>
/// Rate limits as users write them (<c>--limit-rate</c>, <c>--max-rate</c>, <c>--max-total-rate</c>): bit/s with an
/// optional decimal suffix K, M, G or T (1,000 each step, as network rates are counted: 40M = 40,000,000 bit/s),
/// optionally followed by "bit", "bit/s" or "bps". 0 means no limit.
/// </summary>
public static class RateLimits
{
    /// <summary>Smallest limit taken: 8K (1,000 bytes a second), enough to keep a transfer from timing out.</summary>
    public const long Min = 8_000;

    /// <summary>Largest limit taken: 8T, what the wire fields carry with room to spare.</summary>
    public const long Max = 8_000_000_000_000;

    /// <summary>Parses <paramref name="text"/> into bit/s (0: no limit); false with a sentence for the user otherwise.</summary>
    public static bool TryParse(string? text, out long bitsPerSecond, out string error)
    {
        bitsPerSecond = 0;
        error = string.Empty;
        string t = (text ?? string.Empty).Trim();
        foreach (var unit in new[] { "bit/s", "bps", "bit" })
        {
            if (t.EndsWith(unit, StringComparison.OrdinalIgnoreCase))
            {
                t = t[..^unit.Length];
                break;
            }
        }

        long scale = 1;
        if (t.Length > 0 && char.ToUpperInvariant(t[^1]) is 'K' or 'M' or 'G' or 'T')
        {
            scale = char.ToUpperInvariant(t[^1]) switch { 'K' => 1_000, 'M' => 1_000_000, 'G' => 1_000_000_000, _ => 1_000_000_000_000 };
            t = t[..^1];
        }

        if (t.Length == 0 || !decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number) || number > Max)
        {
            error = $"'{text}' is not a rate like 500K, 40M or 1.5G (bit/s; K, M, G = 1,000, 1,000,000, 1,000,000,000; 0 for no limit)";
            return false;
        }

        decimal bits = decimal.Round(number * scale);
        if (bits != 0 && (bits < Min || bits > Max))
        {
            error = $"'{text}' is outside {Format(Min)} .. {Format(Max)} (0 for no limit)";
            return false;
        }

        bitsPerSecond = (long)bits;
        return true;
    }

    /// <summary>"40 Mbit/s", "1.5 Gbit/s", "800 kbit/s"; "none" for 0.</summary>
    public static string Format(long bitsPerSecond) => bitsPerSecond switch
    {
        <= 0 => "none",
        >= 1_000_000_000_000 => $"{bitsPerSecond / 1e12:0.###} Tbit/s",
        >= 1_000_000_000 => $"{bitsPerSecond / 1e9:0.###} Gbit/s",
        >= 1_000_000 => $"{bitsPerSecond / 1e6:0.###} Mbit/s",
        >= 1_000 => $"{bitsPerSecond / 1e3:0.###} kbit/s",
        _ => $"{bitsPerSecond} bit/s",
    };

    /// <summary>The smaller of two limits where 0 means none.</summary>
    public static long Min2(long a, long b) => a <= 0 ? Math.Max(0, b) : b <= 0 ? a : Math.Min(a, b);
}
