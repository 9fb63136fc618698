using Ferry.Files;
using Ferry.Protocol.Tftp;

namespace Ferry.Tftp;

/// <summary>A client upload's source: sequential reads are hashed on the way (SHA-256 of exactly what was sent).</summary>
internal sealed class HashingBlockSource : ITftpBlockSource
{
    private readonly HashingFileSource _source;

    public HashingBlockSource(HashingFileSource source)
    {
        _source = source;
    }

    public int Read(long offset, Span<byte> destination) => _source.Read(offset, destination);
}
