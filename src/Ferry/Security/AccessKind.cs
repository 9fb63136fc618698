namespace Ferry.Security;

/// <summary>What a client asks to do: read (download, relay reading) or write (upload, relay posting).</summary>
public enum AccessKind
{
    Read,
    Write,
}
