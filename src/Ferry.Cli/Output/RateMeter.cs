namespace Ferry.Cli.Output;

/// <summary>
/// The transfer rate shown beside the bar: bytes moved in this run over the last few seconds. Bytes that were
/// already at the receiver (resume) never count, so continuing a 4 GiB file at 90% does not read as a burst of
/// 3.6 GiB in the first tenth of a second. Pure: the caller passes the time of every sample.
/// </summary>
internal sealed class RateMeter
{
    private readonly TimeSpan _window;
    private readonly Queue<(TimeSpan At, long Moved)> _samples = new();

    /// <param name="window">How far back the rate looks; a longer window is steadier, a shorter one follows changes sooner.</param>
    public RateMeter(TimeSpan window)
    {
        _window = window;
    }

    /// <summary>Bytes per second over the window; 0 until two samples are at least a moment apart.</summary>
    public double BytesPerSecond
    {
        get
        {
            if (_samples.Count < 2)
            {
                return 0;
            }

            var first = _samples.Peek();
            var last = _samples.Last();
            double seconds = (last.At - first.At).TotalSeconds;
            return seconds <= 0 ? 0 : Math.Max(0, last.Moved - first.Moved) / seconds;
        }
    }

    /// <summary>
    /// Records that <paramref name="bytesDone"/> bytes (of which <paramref name="resumedBytes"/> were there before this
    /// run) were done at <paramref name="at"/>. Samples must come in time order.
    /// </summary>
    public void Add(TimeSpan at, long bytesDone, long resumedBytes)
    {
        _samples.Enqueue((at, MovedThisRun(bytesDone, resumedBytes)));

        // Keep one sample at or before the window's start, so the rate always spans the whole window once it can.
        while (_samples.Count > 2 && at - _samples.ElementAt(1).At >= _window)
        {
            _samples.Dequeue();
        }
    }

    /// <summary>The average rate of a whole run: bytes moved in it (not the resumed prefix) over its duration.</summary>
    public static double Average(long bytesDone, long resumedBytes, TimeSpan elapsed) =>
        MovedThisRun(bytesDone, resumedBytes) / Math.Max(elapsed.TotalSeconds, 1e-9);

    private static long MovedThisRun(long bytesDone, long resumedBytes) => Math.Max(0, bytesDone - Math.Max(0, resumedBytes));
}
