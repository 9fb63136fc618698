namespace Ferry.Hosting;

/// <summary>What a client asks a server listener for.</summary>
public enum TransferOperation
{
    /// <summary>Download a file.</summary>
    Get,

    /// <summary>Upload a file.</summary>
    Put,

    /// <summary>Download the listing of a directory.</summary>
    List,

    /// <summary>Create a directory (parents too), with a mode and modification time.</summary>
    MakeDirectory,
}

/// <summary>
/// One client request as every listener hands it to the <see cref="TransferService"/>: who asks (protocol and peer),
/// for what (operation and root-relative path), with which token.
/// </summary>
/// <param name="Protocol">The listener's name ("udp", "tcp", "zmq", "tftp").</param>
/// <param name="Peer">The client's address as the log shows it ("127.0.0.1:5555").</param>
/// <param name="Path">Root-relative path with '/' separators ("" is the root, for a listing).</param>
/// <param name="Token">The access token the client presented, if any.</param>
public sealed record TransferRequest(string Protocol, string Peer, TransferOperation Operation, string Path, string? Token = null)
{
    /// <summary>The log's one spelling of the operation: GET, PUT or LIST.</summary>
    public string OpName => Operation switch
    {
        TransferOperation.Get => "GET",
        TransferOperation.List => "LIST",
        TransferOperation.MakeDirectory => "MKDIR",
        _ => "PUT",
    };

    /// <summary>The path as the log shows it: "/" for the root, control characters as \xNN.</summary>
    public string DisplayPath => Path.Length == 0 ? "/" : Printable(Path);

    /// <summary>What the request needs the token to allow.</summary>
    public Security.AccessKind Access => Operation is TransferOperation.Get or TransferOperation.List ? Security.AccessKind.Read : Security.AccessKind.Write;

    /// <summary>Who holds the path while this request uploads it ("udp 127.0.0.1:5555"), for a competitor's Busy message.</summary>
    public string Owner => $"{Protocol} {Peer}";

    private static string Printable(string s)
    {
        if (!s.Any(c => c < 0x20 || c == 0x7F))
        {
            return s;
        }

        var sb = new System.Text.StringBuilder(s.Length + 8);
        foreach (char c in s)
        {
            sb.Append(c < 0x20 || c == 0x7F ? $"\\x{(int)c:x2}" : c.ToString());
        }

        return sb.ToString();
    }
}
