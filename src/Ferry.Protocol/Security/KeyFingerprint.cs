using System.Security.Cryptography;

namespace Ferry.Protocol.Security;

/// <summary>
/// The printable name of a server key, in the style of OpenSSH: <c>SHA256:</c> followed by the unpadded base64 of the
/// SHA-256 of the key's DER SubjectPublicKeyInfo. Users compare and pin these strings.
/// </summary>
public static class KeyFingerprint
{
    public const string Prefix = "SHA256:";

    /// <summary>The fingerprint of a DER-encoded SubjectPublicKeyInfo.</summary>
    public static string Of(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(subjectPublicKeyInfo, hash);
        return Prefix + Convert.ToBase64String(hash).TrimEnd('=');
    }

    /// <summary>True when <paramref name="text"/> has the shape of a fingerprint (prefix and 43 base64 characters).</summary>
    public static bool IsWellFormed(string text)
    {
        if (!text.StartsWith(Prefix, StringComparison.Ordinal) || text.Length != Prefix.Length + 43)
        {
            return false;
        }

        Span<byte> decoded = stackalloc byte[33];
        return Convert.TryFromBase64String(text[Prefix.Length..] + "=", decoded, out int n) && n == 32;
    }

    /// <summary>Compares two fingerprints; the prefix is optional in <paramref name="pinned"/>.</summary>
    public static bool Matches(string pinned, string actual)
    {
        string p = pinned.StartsWith(Prefix, StringComparison.Ordinal) ? pinned : Prefix + pinned;
        return CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(p.TrimEnd('=')), System.Text.Encoding.ASCII.GetBytes(actual));
    }
}
