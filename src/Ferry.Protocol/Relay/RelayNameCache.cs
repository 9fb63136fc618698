namespace Ferry.Protocol.Relay;

/// <summary>
/// Author names a reader decoded, by their UTF-8 bytes: a DELIVER carries many lines of a few authors, and reusing the
/// string spares one allocation and one UTF-8 validation per message. Direct-mapped by a hash of the bytes, so a lookup
/// compares one entry however many authors are active (a busy room has more than a linear scan could hold).
/// </summary>
internal sealed class RelayNameCache
{
    private const int Size = 256;
    private readonly byte[]?[] _bytes = new byte[Size][];
    private readonly string[] _names = new string[Size];

    /// <summary>The name for <paramref name="utf8"/>; false when the bytes are not valid UTF-8.</summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out string name)
    {
        // FNV-1a over at most 32 bytes (names are bounded by RelayWire.MaxNameBytes).
        uint hash = 2166136261;
        foreach (byte b in utf8)
        {
            hash = (hash ^ b) * 16777619;
        }

        int slot = (int)((hash ^ (hash >> 16)) & (Size - 1));
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
}
