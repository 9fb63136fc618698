using Ferry.Files;
using Ferry.Protocol.Tftp;

namespace Ferry.Tftp;

/// <summary>Writes received blocks into a <see cref="PartialFile"/> of an announced size, refusing anything beyond it.</summary>
internal sealed class PartialFileBlockSink : ITftpBlockSink
{
    private readonly PartialFile _file;

    public PartialFileBlockSink(PartialFile file)
    {
        _file = file;
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (offset + data.Length > _file.Size)
        {
            throw new TftpSizeException($"more data than the announced size of {_file.Size} bytes");
        }

        _file.Write(offset, data);
    }

    /// <summary>Checks that exactly the announced size arrived, then returns the SHA-256 of the received file.</summary>
    public byte[] Finish()
    {
        if (!_file.IsComplete)
        {
            throw new TftpSizeException($"the transfer ended after {_file.Received.TotalLength} bytes but {_file.Size} were announced");
        }

        return _file.ComputeSha256();
    }
}
