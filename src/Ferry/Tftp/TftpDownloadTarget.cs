using Ferry.Files;
using Ferry.Protocol.Tftp;

namespace Ferry.Tftp;

/// <summary>
/// Where a client download goes. With a tsize from the server the bytes go straight into a
/// <see cref="PartialFile"/> beside the destination; without one (the server ignored options) they are spooled
/// into a hidden temp file and handed to a <see cref="PartialFile"/> of the final size at the end. Either way the
/// destination appears only complete, fsynced and under its final name, and the SHA-256 of the received bytes is
/// what <see cref="Complete"/> returns.
/// </summary>
internal sealed class TftpDownloadTarget : ITftpBlockSink, IDisposable
{
    private readonly string _destination;
    private readonly bool _overwrite;
    private readonly long _stamp;
    private PartialFile? _file;
    private PartialFileBlockSink? _sink;
    private SpoolFile? _spool;

    /// <param name="stamp">
    /// Unique per attempt: TFTP cannot resume (no offsets on the wire), so a journal left by an earlier attempt must
    /// never be taken for this one.
    /// </param>
    public TftpDownloadTarget(string destination, bool overwrite, long stamp)
    {
        _destination = destination;
        _overwrite = overwrite;
        _stamp = stamp;
    }

    /// <summary>Options are settled; a known size opens the destination's temp file at once.</summary>
    public void Begin(long? size)
    {
        if (size is long s && _file is null && _spool is null)
        {
            _file = PartialFile.ForDownload(_destination, s, new FileIdentity(s, _stamp), _overwrite);
            _sink = new PartialFileBlockSink(_file);
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (_sink is not null)
        {
            _sink.Write(offset, data);
            return;
        }

        if (_spool is null)
        {
            string full = Path.GetFullPath(_destination);
            _spool = new SpoolFile(Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.ferry-tftp-{_stamp}"), long.MaxValue);
        }

        _spool.Write(offset, data);
    }

    /// <summary>Verifies the size, commits the file under its final name and returns its SHA-256.</summary>
    public byte[] Complete()
    {
        if (_sink is null)
        {
            long length = _spool?.Length ?? 0;
            _file = PartialFile.ForDownload(_destination, length, new FileIdentity(length, _stamp), _overwrite);
            _spool?.CopyTo(_file);
            _spool?.Dispose();
            _spool = null;
            _sink = new PartialFileBlockSink(_file);
        }

        byte[] sha256 = _sink.Finish();
        _file!.Commit(sha256);
        return sha256;
    }

    public void Dispose()
    {
        if (_file is not null)
        {
            if (!_file.IsCommitted)
            {
                _file.Abort(keepForResume: false);
            }

            _file.Dispose();
        }

        _spool?.Dispose();
    }
}
