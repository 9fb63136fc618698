namespace Ferry.Files;

/// <summary>The version of a source file (size and modification time), used to decide whether a partial copy may be resumed.</summary>
public readonly record struct FileIdentity(long Size, long MtimeUnixMs);
