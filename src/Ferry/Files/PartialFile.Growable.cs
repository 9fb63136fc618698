namespace Ferry.Files;

/// <summary>
/// Uploads whose size is known only at the end (zmq://: HELLO carries no size, CLOSE does). Such an upload is begun
/// with size 0; the protocol raises the size before each write and sets the announced size before committing.
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

    /// <summary>
    /// Sets <see cref="Size"/>: raising it makes later writes up to there legal; lowering it is allowed down to the
    /// end of the data received (a write that failed may have raised it). Throws InvalidOperationException below that.
    /// </summary>
    public void SetSize(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        lock (_sync)
        {
            EnsureOpen();
            long end = Received.IsEmpty ? 0 : Received.Last.End;
            if (size < end)
            {
                throw new InvalidOperationException($"'{_displayName}': size {size} is below the {end} bytes received");
            }

            if (size != Size)
            {
                Size = size;
                _finalHash = null;
            }
        }
    }
}
