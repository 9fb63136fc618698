namespace Ferry.Protocol.Relay;

/// <summary>
/// The last few author names a reader decoded, by their UTF-8 bytes: a DELIVER usually carries many lines of the same few
/// authors, and reusing the string spares one allocation and one UTF-8 validation per message.
/// </summary>
internal sealed class RelayNameCache
{
    private const int Size = 16;
    private readonly byte[][] _bytes = new byte[Size][];
    private readonly string[] _names = new string[Size];
    private int _next;

    /// <summary>The name for <paramref name="utf8"/>; false when the bytes are not valid UTF-8.</summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out string name)
    {
        for (int i = 0; i < Size; i++)
        {
            if (_bytes[i] is { } b && utf8.SequenceEqual(b))
            {
                name = _names[i];
                return true;
            }
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

        _bytes[_next] = utf8.ToArray();
        _names[_next] = name;
        _next = (_next + 1) % Size;
        return true;
    }
}
