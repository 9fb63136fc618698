namespace Ferry.Protocol.Tftp;

/// <summary>One RFC 2347 option as it appears on the wire: a name and a value, both ASCII strings.</summary>
public readonly record struct TftpOption(string Name, string Value)
{
    /// <summary>RFC 2348 block size.</summary>
    public const string BlockSize = "blksize";

    /// <summary>RFC 2349 retransmission timeout in seconds.</summary>
    public const string Timeout = "timeout";

    /// <summary>RFC 2349 transfer size in bytes.</summary>
    public const string TransferSize = "tsize";

    /// <summary>RFC 7440 window size in blocks.</summary>
    public const string WindowSize = "windowsize";

    /// <summary>Option names compare case-insensitively (RFC 2347).</summary>
    public bool Is(string name) => string.Equals(Name, name, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses the value as a non-negative decimal number (at most 18 digits); false otherwise.</summary>
    public bool TryGetNumber(out long value)
    {
        value = 0;
        if (Value.Length == 0 || Value.Length > 18)
        {
            return false;
        }

        foreach (char c in Value)
        {
            if (c < '0' || c > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    public override string ToString() => $"{Name}={Value}";
}
