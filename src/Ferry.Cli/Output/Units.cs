using System.Globalization;

namespace Ferry.Cli.Output;

/// <summary>
/// The one convention for sizes and rates in everything ferry prints for people: sizes in binary units
/// (B, KiB, MiB, GiB, TiB; 1 KiB = 1024 bytes), rates in decimal bits per second (kbit/s, Mbit/s, Gbit/s;
/// 1 Mbit/s = 10^6 bit/s), as network links and iperf3 state them. --json carries exact integers instead.
/// </summary>
internal static class Units
{
    private static readonly string[] s_sizeUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

    /// <summary>"512 B", "1.5 KiB", "200.0 MiB", "4.0 GiB".</summary>
    public static string Size(long bytes)
    {
        int unit = UnitOf(bytes);
        return $"{Scaled(bytes, unit)} {s_sizeUnits[unit]}";
    }

    /// <summary>"90.0/200.0 MiB": <paramref name="done"/> in the unit of <paramref name="total"/>, so both read alike.</summary>
    public static string SizeOf(long done, long total)
    {
        int unit = UnitOf(Math.Max(done, total));
        return $"{Scaled(done, unit)}/{Scaled(total, unit)} {s_sizeUnits[unit]}";
    }

    /// <summary>"812.0 kbit/s", "93.8 Mbit/s", "4.96 Gbit/s" from a rate in bytes per second.</summary>
    public static string Rate(double bytesPerSecond)
    {
        double bits = Math.Max(0, bytesPerSecond) * 8;
        return bits >= 1e9 ? string.Create(CultureInfo.InvariantCulture, $"{bits / 1e9:F2} Gbit/s")
            : bits >= 1e6 ? string.Create(CultureInfo.InvariantCulture, $"{bits / 1e6:F1} Mbit/s")
            : bits >= 1e3 ? string.Create(CultureInfo.InvariantCulture, $"{bits / 1e3:F1} kbit/s")
            : string.Create(CultureInfo.InvariantCulture, $"{bits:F0} bit/s");
    }

    /// <summary>"0:09", "12:34", "1:02:03"; days beyond 99 hours read "99:59:59+".</summary>
    public static string Duration(TimeSpan t)
    {
        long seconds = Math.Max(0, (long)Math.Ceiling(t.TotalSeconds));
        if (seconds >= 100 * 3600)
        {
            return "99:59:59+";
        }

        return seconds >= 3600
            ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600}:{seconds / 60 % 60:D2}:{seconds % 60:D2}")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60}:{seconds % 60:D2}");
    }

    private static int UnitOf(long bytes)
    {
        int unit = 0;
        double v = Math.Max(0, bytes);
        while (v >= 1024 && unit < s_sizeUnits.Length - 1)
        {
            v /= 1024;
            unit++;
        }

        return unit;
    }

    private static string Scaled(long bytes, int unit) => unit == 0
        ? bytes.ToString(CultureInfo.InvariantCulture)
        : (bytes / Math.Pow(1024, unit)).ToString("F1", CultureInfo.InvariantCulture);
}
