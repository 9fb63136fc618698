using System.Security.Cryptography;
using Ferry.Protocol.Udp;

namespace Ferry.Tests.Fuzz;

/// <summary>A UDP data sink that keeps nothing, and a source of zero bytes: fuzzing needs no file content.</summary>
internal sealed class NullDataSink : IDataSink, IDataSource
{
    public long BytesWritten { get; private set; }

    public bool TryWrite(long offset, ReadOnlySpan<byte> data, out TransferError error, out string message)
    {
        BytesWritten += data.Length;
        error = TransferError.None;
        message = string.Empty;
        return true;
    }

    public bool TryRead(long offset, Span<byte> destination, out TransferError error, out string message)
    {
        destination.Clear();
        error = TransferError.None;
        message = string.Empty;
        return true;
    }

    public bool TryCompleteHash(out byte[] sha256, out TransferError error, out string message)
    {
        sha256 = SHA256.HashData(ReadOnlySpan<byte>.Empty);
        error = TransferError.None;
        message = string.Empty;
        return true;
    }
}
