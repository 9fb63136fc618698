namespace Ferry.Protocol.Tftp;

/// <summary>
/// Where a sender gets the bytes of the transfer (as they go on the wire). The sender reads block-sized pieces at
/// increasing offsets and, on retransmission, re-reads from the oldest unacknowledged block, which is never more
/// than one window behind the furthest block read.
/// </summary>
public interface ITftpBlockSource
{
    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; fewer bytes only at the end of the data.</summary>
    int Read(long offset, Span<byte> destination);
}
