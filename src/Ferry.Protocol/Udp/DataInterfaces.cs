namespace Ferry.Protocol.Udp;

/// <summary>Where a data sender reads file bytes. Implemented by the shell (a file) or by tests (memory).</summary>
public interface IDataSource
{
    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; false with an error when it cannot.</summary>
    bool TryRead(long offset, Span<byte> destination, out TransferError error, out string message);

    /// <summary>SHA-256 of the whole source, called once after every byte was read for the first time.</summary>
    bool TryCompleteHash(out byte[] sha256, out TransferError error, out string message);
}

/// <summary>Where a data receiver writes bytes. Each byte range is written exactly once.</summary>
public interface IDataSink
{
    bool TryWrite(long offset, ReadOnlySpan<byte> data, out TransferError error, out string message);
}

/// <summary>
/// A sink that also bounds how far the sender may go: the receiver's MAX_DATA never passes <see cref="WritableEnd"/>
/// (a job receiver bounding the files it has open). The bound may only grow.
/// </summary>
public interface ILimitedDataSink : IDataSink
{
    /// <summary>The offset (exclusive) up to which this sink takes bytes without waiting.</summary>
    long WritableEnd { get; }
}
