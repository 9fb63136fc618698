namespace Ferry.Files;

/// <summary>How the upload registry stops a running upload that a new upload of the same path may replace.</summary>
public interface IUploadTakeover
{
    /// <summary>How long the upload has gone without hearing from its client.</summary>
    TimeSpan Silence { get; }

    /// <summary>
    /// Stops the upload, keeping what it received for resume, and releases its lease (now, or soon from another
    /// thread: the registry waits for the release). False when it cannot be stopped (it is committing, or the
    /// caller is on a thread that may not touch it): the newcomer is then refused as Busy.
    /// </summary>
    bool TryStop(string reason);
}
