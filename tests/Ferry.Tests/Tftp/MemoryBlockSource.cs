using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

/// <summary>An in-memory file for a sender; counts reads so tests can see retransmissions.</summary>
internal sealed class MemoryBlockSource : ITftpBlockSource
{
    private readonly byte[] _data;

    public MemoryBlockSource(byte[] data)
    {
        _data = data;
    }

    public int Reads { get; private set; }

    public int Read(long offset, Span<byte> destination)
    {
        Reads++;
        if (offset >= _data.Length)
        {
            return 0;
        }

        int n = (int)Math.Min(destination.Length, _data.Length - offset);
        _data.AsSpan((int)offset, n).CopyTo(destination);
        return n;
    }

    /// <summary>Deterministic pseudo-random content.</summary>
    public static byte[] Content(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
