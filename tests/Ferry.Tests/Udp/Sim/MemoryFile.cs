using System.Security.Cryptography;
using Ferry.Protocol.Udp;

namespace Ferry.Tests.Udp.Sim;

/// <summary>An in-memory file source that counts what was read.</summary>
public sealed class MemorySource : IDataSource
{
    public MemorySource(byte[] data) => Data = data;

    public byte[] Data { get; }

    public long BytesRead { get; private set; }

    public int HashCalls { get; private set; }

    public bool TryRead(long offset, Span<byte> destination, out TransferError error, out string message)
    {
        error = TransferError.None;
        message = string.Empty;
        Data.AsSpan((int)offset, destination.Length).CopyTo(destination);
        BytesRead += destination.Length;
        return true;
    }

    public bool TryCompleteHash(out byte[] sha256, out TransferError error, out string message)
    {
        HashCalls++;
        sha256 = SHA256.HashData(Data);
        error = TransferError.None;
        message = string.Empty;
        return true;
    }
}

/// <summary>An in-memory sink that records how many times each byte was written.</summary>
public sealed class MemorySink : IDataSink
{
    private readonly byte[] _writes;

    public MemorySink(long size, byte[]? prefill = null)
    {
        Data = prefill ?? new byte[size];
        _writes = new byte[size];
    }

    public byte[] Data { get; }

    public long BytesWritten { get; private set; }

    /// <summary>Bytes written more than once (must stay 0).</summary>
    public long Rewrites { get; private set; }

    /// <summary>When set, writes at or past this offset fail with NoSpace.</summary>
    public long FailAt { get; set; } = long.MaxValue;

    public bool TryWrite(long offset, ReadOnlySpan<byte> data, out TransferError error, out string message)
    {
        if (offset + data.Length > FailAt)
        {
            error = TransferError.NoSpace;
            message = "no space left on device";
            return false;
        }

        data.CopyTo(Data.AsSpan((int)offset));
        for (long i = offset; i < offset + data.Length; i++)
        {
            if (_writes[i]++ > 0)
            {
                Rewrites++;
            }
        }

        BytesWritten += data.Length;
        error = TransferError.None;
        message = string.Empty;
        return true;
    }

    public byte[] Sha256() => SHA256.HashData(Data);
}
