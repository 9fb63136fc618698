namespace Ferry.Protocol.Tftp;

/// <summary>
/// Maps between the 16-bit block numbers on the wire and the absolute block numbers the state machines keep.
/// Block 1 is the first DATA block; after 65535 the wire number rolls over to 0 (what tftp-hpa, atftp and curl do).
/// </summary>
public static class TftpBlockNumber
{
    public static ushort ToWire(long absolute) => unchecked((ushort)absolute);

    /// <summary>
    /// The absolute block in [<paramref name="floor"/>, floor + 65535] whose wire number is <paramref name="wire"/>.
    /// Callers pick the floor as the oldest block that can still be meant, so anything older is recognised as stale
    /// by landing beyond the blocks in flight.
    /// </summary>
    public static long FromWire(ushort wire, long floor) => floor + unchecked((ushort)(wire - (ushort)floor));
}
