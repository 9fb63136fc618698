namespace Ferry.Protocol.Tftp;

/// <summary>
/// Where a receiver puts accepted bytes. Each byte offset is written exactly once and in increasing order:
/// duplicate, late and out-of-order DATA never reach the sink.
/// </summary>
public interface ITftpBlockSink
{
    void Write(long offset, ReadOnlySpan<byte> data);
}
