using Ferry.Protocol.Common;

namespace Ferry.Protocol.Tcp;

/// <summary>
/// The sender's shared work queue for one multi-stream transfer. The file is cut into aligned blocks of
/// <see cref="BlockSize"/>; ranges the receiver already holds (resume) are skipped, so an item is a block
/// or the missing part of one. A stream asks for the next item when it is ready for more, so a slow stream
/// simply takes fewer items (no static slice per stream). Items are handed out lowest offset first, which keeps
/// the receiver's contiguous prefix growing (its hashing follows that prefix). When a stream is lost, its
/// unacknowledged items go back to the queue and are handed out again before any new item.
/// <para>
/// Pure and single-threaded: the shell serializes calls. Memory is O(present ranges + items in flight),
/// never O(file size): items are generated lazily from a cursor.
/// </para>
/// </summary>
public sealed class BlockScheduler
{
    private readonly RangeSet _present;
    private readonly Dictionary<long, InFlight> _inFlight = new();

    // Returned items, lowest offset first. Offsets are unique (an item is in exactly one place).
    private readonly SortedDictionary<long, int> _returned = new();
    private long _cursor;

    /// <param name="fileSize">Bytes in the file.</param>
    /// <param name="blockSize">Block size (a valid protocol block size).</param>
    /// <param name="present">Ranges the receiver already has; not modified (copied).</param>
    public BlockScheduler(long fileSize, int blockSize, RangeSet? present)
    {
        if (fileSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(fileSize));
        }

        if (!TcpWire.IsValidBlockSize(blockSize))
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize));
        }

        FileSize = fileSize;
        BlockSize = blockSize;
        _present = new RangeSet();
        if (present is not null)
        {
            foreach (var r in present)
            {
                long start = Math.Max(0, r.Start), end = Math.Min(fileSize, r.End);
                _present.Add(start, end);
            }
        }

        BytesToSend = fileSize - _present.TotalLength;
    }

    public long FileSize { get; }

    public int BlockSize { get; }

    /// <summary>Bytes the receiver already had when the transfer started.</summary>
    public long BytesPresent => FileSize - BytesToSend;

    /// <summary>Bytes that must cross the network (file size minus what the receiver already has).</summary>
    public long BytesToSend { get; }

    /// <summary>Bytes acknowledged so far.</summary>
    public long BytesAcknowledged { get; private set; }

    /// <summary>Items handed out again after their stream was lost.</summary>
    public long ItemsRequeued { get; private set; }

    /// <summary>Items currently handed out and not yet acknowledged.</summary>
    public int InFlightCount => _inFlight.Count;

    /// <summary>True when every missing byte has been acknowledged.</summary>
    public bool IsComplete => BytesAcknowledged == BytesToSend;

    /// <summary>True when an item can be taken right now.</summary>
    public bool HasPending => _returned.Count > 0 || NextGapStart() < FileSize;

    /// <summary>Hands <paramref name="stream"/> the lowest item nobody holds, or returns false when none is left.</summary>
    public bool TryTake(int stream, out TcpWorkItem item)
    {
        if (_returned.Count > 0)
        {
            var first = _returned.First();
            _returned.Remove(first.Key);
            item = new TcpWorkItem(first.Key, first.Value);
        }
        else if (!TryGenerate(out item))
        {
            return false;
        }

        _inFlight.Add(item.Offset, new InFlight(stream, item.Length));
        return true;
    }

    /// <summary>Marks the item at <paramref name="offset"/> done if <paramref name="stream"/> holds it with that length.</summary>
    public TcpAckOutcome Acknowledge(int stream, long offset, int length)
    {
        if (!_inFlight.TryGetValue(offset, out var f) || f.Stream != stream || f.Length != length)
        {
            return TcpAckOutcome.Unexpected;
        }

        _inFlight.Remove(offset);
        BytesAcknowledged += length;
        return TcpAckOutcome.Completed;
    }

    /// <summary>The stream is gone: its unacknowledged items return to the queue. Returns how many.</summary>
    public int ReleaseStream(int stream)
    {
        List<long>? released = null;
        foreach (var (offset, f) in _inFlight)
        {
            if (f.Stream == stream)
            {
                (released ??= new()).Add(offset);
            }
        }

        if (released is null)
        {
            return 0;
        }

        foreach (long offset in released)
        {
            _returned.Add(offset, _inFlight[offset].Length);
            _inFlight.Remove(offset);
        }

        ItemsRequeued += released.Count;
        return released.Count;
    }

    /// <summary>Items currently held by <paramref name="stream"/>, lowest offset first (for diagnostics and tests).</summary>
    public IReadOnlyList<TcpWorkItem> HeldBy(int stream) =>
        _inFlight.Where(p => p.Value.Stream == stream).Select(p => new TcpWorkItem(p.Key, p.Value.Length)).OrderBy(i => i.Offset).ToList();

    private long NextGapStart() => _cursor >= FileSize ? FileSize : _present.ContiguousEnd(_cursor);

    private bool TryGenerate(out TcpWorkItem item)
    {
        long start = NextGapStart();
        if (start >= FileSize)
        {
            _cursor = FileSize;
            item = default;
            return false;
        }

        long blockEnd = Math.Min(FileSize, ((start / BlockSize) + 1) * BlockSize);
        long end = blockEnd;

        // Stop where the receiver's next present range begins inside this block.
        foreach (var gap in _present.Gaps(start, blockEnd))
        {
            end = gap.End;
            break;
        }

        _cursor = end;
        item = new TcpWorkItem(start, (int)(end - start));
        return true;
    }

    private readonly record struct InFlight(int Stream, int Length);
}
