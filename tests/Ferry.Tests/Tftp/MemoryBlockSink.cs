using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

/// <summary>
/// An in-memory destination that fails the test on any write that is not the next contiguous range: the receiver
/// promises each byte exactly once, in order.
/// </summary>
internal sealed class MemoryBlockSink : ITftpBlockSink, IDisposable
{
    private readonly MemoryStream _data = new();

    public int Writes { get; private set; }

    public long Length => _data.Length;

    public void Dispose() => _data.Dispose();

    /// <summary>When set, the next write throws (a full disk).</summary>
    public bool FailNextWrite { get; set; }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (FailNextWrite)
        {
            FailNextWrite = false;
            throw new IOException("disk full (test)");
        }

        Assert.Equal(_data.Length, offset);
        _data.Write(data);
        Writes++;
    }

    public byte[] ToArray() => _data.ToArray();
}
