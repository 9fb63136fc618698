namespace Ferry.Protocol.Tftp;

/// <summary>A parsed read or write request (RRQ/WRQ) with its options in wire order.</summary>
public sealed record TftpRequest(TftpOpcode Opcode, string FileName, TftpMode Mode, IReadOnlyList<TftpOption> Options)
{
    public bool IsRead => Opcode == TftpOpcode.Rrq;

    /// <summary>The first option named <paramref name="name"/> (case-insensitive), if any.</summary>
    public TftpOption? Find(string name) => FindOption(Options, name);

    internal static TftpOption? FindOption(IReadOnlyList<TftpOption> options, string name)
    {
        foreach (var o in options)
        {
            if (o.Is(name))
            {
                return o;
            }
        }

        return null;
    }
}
