using System.Security.Cryptography;
using System.Text;

namespace Ferry.Files;

/// <summary>Names of the engine's own temp files and journals, which no client may read or write.</summary>
public static class ReservedNames
{
    public const string PartSuffix = ".ferry-part";

    public const string JournalSuffix = ".ferry-journal";

    /// <summary>Longest file name component on Linux filesystems, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 255;

    /// <summary>Suffix of a journal being replaced (written, fsynced, then renamed over the journal).</summary>
    public const string JournalTempSuffix = JournalSuffix + ".tmp";

    public static bool IsReserved(string name) =>
        name.EndsWith(PartSuffix, StringComparison.Ordinal)
        || name.EndsWith(JournalSuffix, StringComparison.Ordinal)
        || name.EndsWith(JournalTempSuffix, StringComparison.Ordinal);

    /// <summary>".{name}.ferry-part" (or a hashed form when that would exceed 255 bytes).</summary>
    public static string PartName(string fileName) => Hidden(fileName, PartSuffix);

    /// <summary>".{name}.ferry-journal" (or a hashed form when that would exceed 255 bytes).</summary>
    public static string JournalName(string fileName) => Hidden(fileName, JournalSuffix);

    private static string Hidden(string fileName, string suffix)
    {
        string candidate = "." + fileName + suffix;
        if (Encoding.UTF8.GetByteCount(candidate) <= MaxNameBytes)
        {
            return candidate;
        }

        // A name near the 255-byte limit has no room for the decoration; a hash keeps it unique and stable.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(fileName));
        return "." + Convert.ToHexStringLower(hash) + suffix;
    }
}
