using Microsoft.Win32.SafeHandles;

namespace Ferry.Files;

/// <summary>
/// The permission bits and modification time a committed upload takes from its source (as scp -p and rsync -a keep
/// them): applied to the temp file before it is renamed, so the file appears under its name with them.
/// </summary>
public sealed partial class PartialFile
{
    private int? _commitMode;
    private long? _commitMtimeUnixMs;

    /// <summary>
    /// Sets what <see cref="Commit"/> gives the file: <paramref name="mode"/> (permission bits, masked to 0777; null:
    /// the default a new file gets) and <paramref name="mtimeUnixMs"/> (null: the time of the last write).
    /// </summary>
    public void SetCommitMetadata(int? mode, long? mtimeUnixMs)
    {
        lock (_sync)
        {
            _commitMode = mode & 0x1FF;
            _commitMtimeUnixMs = mtimeUnixMs;
        }
    }

    // Called by Commit on the open temp file, after the last write and before the fsync that makes it durable.
    private void ApplyCommitMetadataLocked(SafeFileHandle handle)
    {
        if (_commitMode is null && _commitMtimeUnixMs is null)
        {
            return;
        }

        int rc = NativeFile.SetModeAndMtime(handle, _commitMode, _commitMtimeUnixMs);
        if (rc != 0)
        {
            throw FromErrno(rc, "cannot set the permission bits or modification time");
        }
    }
}
