using Ferry.Jobs;
using Ferry.Protocol.Udp;

namespace Ferry.Udp;

/// <summary>
/// A job's receiving end as a connection's sink: the job byte space goes to <see cref="JobSink"/>, and the connection's
/// MAX_DATA never passes <see cref="JobSink.WritableEnd"/>, so a write never waits for a file slot on the loop thread
/// (the hashes that free the slots arrive through that same loop).
/// </summary>
internal sealed class JobDataSink(JobSink sink) : ILimitedDataSink
{
    public long WritableEnd => sink.WritableEnd;

    public bool TryWrite(long offset, ReadOnlySpan<byte> data, out TransferError error, out string message)
    {
        try
        {
            sink.Write(offset, data);
            error = TransferError.None;
            message = string.Empty;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = UdpErrors.ToWire(e);
            message = e.Message;
            return false;
        }
    }
}

/// <summary>
/// A job's sending end as a connection's source. The job's DATA_FIN carries 32 zero bytes: each file's SHA-256 travels
/// in its FILE_HASH on the control stream, and that is what the receiver checks.
/// </summary>
internal sealed class JobDataSource(JobSource source) : IDataSource
{
    public bool TryRead(long offset, Span<byte> destination, out TransferError error, out string message)
    {
        source.Read(offset, destination);
        error = TransferError.None;
        message = string.Empty;
        return true;
    }

    public bool TryCompleteHash(out byte[] sha256, out TransferError error, out string message)
    {
        sha256 = new byte[32];
        error = TransferError.None;
        message = string.Empty;
        return true;
    }
}
