using System.Globalization;

namespace Ferry.Bench.WanEmu;

/// <summary>Parses and prints the units the command line uses: rates (100M), durations (25ms), percentages (1%).</summary>
internal static class Units
{
    /// <summary>"100M", "1G", "500k", "1.5G", "100Mbit", "0" (bits per second, decimal prefixes).</summary>
    public static long ParseRate(string s)
    {
        string t = s.Trim();
        if (t.EndsWith("bit", StringComparison.OrdinalIgnoreCase))
        {
            t = t[..^3];
        }
        else if (t.EndsWith("bps", StringComparison.OrdinalIgnoreCase))
        {
            t = t[..^3];
        }

        double mul = 1;
        if (t.Length > 0 && char.IsLetter(t[^1]))
        {
            mul = char.ToUpperInvariant(t[^1]) switch
            {
                'K' => 1e3,
                'M' => 1e6,
                'G' => 1e9,
                _ => throw new FormatException($"bad rate '{s}' (use e.g. 100M, 1G, 500k)"),
            };
            t = t[..^1];
        }

        double v = double.Parse(t, NumberStyles.Float, CultureInfo.InvariantCulture) * mul;
        return v is >= 0 and <= 400e9 ? (long)v : throw new FormatException($"rate '{s}' out of range");
    }

    /// <summary>"25ms", "1.5ms", "200us", "1s", "0"; a bare number is milliseconds.</summary>
    public static long ParseDurationNanos(string s)
    {
        string t = s.Trim();
        double mul = 1e6;
        foreach (var (suffix, m) in new[] { ("ns", 1.0), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9) })
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal))
            {
                mul = m;
                t = t[..^suffix.Length];
                break;
            }
        }

        double v = double.Parse(t, NumberStyles.Float, CultureInfo.InvariantCulture) * mul;
        return v is >= 0 and <= 60e9 ? (long)v : throw new FormatException($"duration '{s}' out of range (0..60 s)");
    }

    /// <summary>"1%", "0.5%", or a fraction "0.01" (a bare number above 1 is refused as ambiguous).</summary>
    public static double ParseProbability(string s)
    {
        string t = s.Trim();
        bool percent = t.EndsWith('%');
        double v = double.Parse(percent ? t[..^1] : t, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (percent)
        {
            v /= 100;
        }

        return v is >= 0 and <= 1 ? v : throw new FormatException($"probability '{s}' out of range (0..100% or 0..1)");
    }

    /// <summary>"P_GB,P_BG[,LOSS_BAD[,LOSS_GOOD]]", each like ParseProbability.</summary>
    public static GilbertElliottConfig ParseBurst(string s)
    {
        var parts = s.Split(',');
        if (parts.Length is < 2 or > 4)
        {
            throw new FormatException($"bad --burst '{s}' (use P_GB,P_BG[,LOSS_BAD[,LOSS_GOOD]], e.g. 0.5%,25%)");
        }

        var ge = new GilbertElliottConfig
        {
            GoodToBad = ParseProbability(parts[0]),
            BadToGood = ParseProbability(parts[1]),
        };
        if (parts.Length > 2)
        {
            ge.LossInBad = ParseProbability(parts[2]);
        }

        if (parts.Length > 3)
        {
            ge.LossInGood = ParseProbability(parts[3]);
        }

        return ge.BadToGood > 0 ? ge : throw new FormatException("--burst: P_BG must be above 0");
    }

    public static string FormatRate(double bitsPerSecond) => bitsPerSecond switch
    {
        >= 1e9 => $"{bitsPerSecond / 1e9:0.###}G",
        >= 1e6 => $"{bitsPerSecond / 1e6:0.###}M",
        >= 1e3 => $"{bitsPerSecond / 1e3:0.###}k",
        _ => $"{bitsPerSecond:0}",
    };
}
