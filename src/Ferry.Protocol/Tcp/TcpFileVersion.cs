namespace Ferry.Protocol.Tcp;

/// <summary>
/// The version of a source file (size and modification time), carried so a resumed transfer only reuses
/// bytes of the same version. Mirrors the file engine's FileIdentity without depending on it.
/// </summary>
public readonly record struct TcpFileVersion(long Size, long MtimeUnixMs);
