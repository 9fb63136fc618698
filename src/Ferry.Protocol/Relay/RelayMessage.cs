namespace Ferry.Protocol.Relay;

/// <summary>One stored line: its server-assigned, gap-free sequence number, store time, author and text.</summary>
public sealed class RelayMessage
{
    public RelayMessage(long seq, long timestampMs, string author, string text)
    {
        Seq = seq;
        TimestampMs = timestampMs;
        Author = author;
        Text = text;
    }

    /// <summary>Server sequence number, 1-based, gap-free.</summary>
    public long Seq { get; }

    /// <summary>When the server stored the line, Unix milliseconds (UTC).</summary>
    public long TimestampMs { get; }

    public string Author { get; }

    public string Text { get; }

    /// <summary>The encoded DELIVER entry, built once on the server and copied into every reader's datagrams.</summary>
    internal byte[]? Entry { get; set; }

    public override string ToString() => $"#{Seq} {Author}: {Text}";
}
