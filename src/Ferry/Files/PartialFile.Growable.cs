namespace Ferry.Files;

/// <summary>
/// Uploads whose size is known only at the end (zmq://: HELLO carries no size, CLOSE does). Such an upload is begun
/// with size 0 and the size grows with the data; at the end <see cref="Size"/> equals the highest byte received,
/// which the protocol has checked against the announced size before committing.
/// </summary>
public sealed partial class PartialFile
{
    /// <summary>Raises <see cref="Size"/> to <paramref name="size"/> (never lowers it) so a write up to there is in bounds.</summary>
    public void ExtendSize(long size)
    {
        lock (_sync)
        {
            EnsureOpen();
            if (size > Size)
            {
                Size = size;
                _finalHash = null;
            }
        }
    }
}
