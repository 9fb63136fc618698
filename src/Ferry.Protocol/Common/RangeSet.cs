using System.Collections;

namespace Ferry.Protocol.Common;

/// <summary>A half-open byte range [Start, End).</summary>
public readonly record struct ByteRange(long Start, long End)
{
    public long Length => End - Start;

    public override string ToString() => $"[{Start},{End})";
}

/// <summary>
/// A set of non-negative integers kept as sorted, disjoint, non-adjacent half-open ranges.
/// Used for received byte offsets, acknowledged data, retransmission queues and received packet numbers.
/// Operations are O(log n) to find the place plus O(n) list shifting in the worst case; callers bound n.
/// </summary>
public sealed class RangeSet : IEnumerable<ByteRange>
{
    private readonly List<ByteRange> _ranges = new();

    /// <summary>Number of disjoint ranges.</summary>
    public int Count => _ranges.Count;

    /// <summary>Total number of values covered.</summary>
    public long TotalLength { get; private set; }

    public bool IsEmpty => _ranges.Count == 0;

    public ByteRange this[int index] => _ranges[index];

    public ByteRange First => _ranges[0];

    public ByteRange Last => _ranges[^1];

    public void Clear()
    {
        _ranges.Clear();
        TotalLength = 0;
    }

    /// <summary>Adds [start, end). Returns how many values were not in the set before.</summary>
    public long Add(long start, long end)
    {
        if (end <= start)
        {
            return 0;
        }

        // Fast path: appending at or after the last range (the common in-order case).
        if (_ranges.Count == 0 || start > _ranges[^1].End)
        {
            _ranges.Add(new ByteRange(start, end));
            TotalLength += end - start;
            return end - start;
        }

        if (start >= _ranges[^1].Start)
        {
            var last = _ranges[^1];
            if (end <= last.End)
            {
                return 0;
            }

            long added = end - Math.Max(start, last.End);
            _ranges[^1] = new ByteRange(last.Start, end);
            TotalLength += added;
            return added;
        }

        // General case: find the first range whose End >= start (it may merge with us).
        int i = FirstEndingAtOrAfter(start);
        int j = i;
        long newStart = start, newEnd = end;
        long covered = 0;
        while (j < _ranges.Count && _ranges[j].Start <= end)
        {
            var r = _ranges[j];
            covered += Math.Min(r.End, end) - Math.Max(r.Start, start) is var o && o > 0 ? o : 0;
            newStart = Math.Min(newStart, r.Start);
            newEnd = Math.Max(newEnd, r.End);
            j++;
        }

        long before = 0;
        for (int k = i; k < j; k++)
        {
            before += _ranges[k].Length;
        }

        if (j > i)
        {
            _ranges.RemoveRange(i, j - i);
        }

        _ranges.Insert(i, new ByteRange(newStart, newEnd));
        long delta = (newEnd - newStart) - before;
        TotalLength += delta;
        return end - start - covered;
    }

    /// <summary>Removes [start, end). Returns how many values were removed.</summary>
    public long Remove(long start, long end)
    {
        if (end <= start || _ranges.Count == 0)
        {
            return 0;
        }

        int i = FirstEndingAfter(start);
        long removed = 0;
        while (i < _ranges.Count && _ranges[i].Start < end)
        {
            var r = _ranges[i];
            long cutStart = Math.Max(r.Start, start);
            long cutEnd = Math.Min(r.End, end);
            removed += cutEnd - cutStart;
            bool keepLeft = r.Start < cutStart;
            bool keepRight = r.End > cutEnd;
            if (keepLeft && keepRight)
            {
                _ranges[i] = new ByteRange(r.Start, cutStart);
                _ranges.Insert(i + 1, new ByteRange(cutEnd, r.End));
                i += 2;
            }
            else if (keepLeft)
            {
                _ranges[i] = new ByteRange(r.Start, cutStart);
                i++;
            }
            else if (keepRight)
            {
                _ranges[i] = new ByteRange(cutEnd, r.End);
                i++;
            }
            else
            {
                _ranges.RemoveAt(i);
            }
        }

        TotalLength -= removed;
        return removed;
    }

    /// <summary>True when every value in [start, end) is in the set.</summary>
    public bool ContainsAll(long start, long end)
    {
        if (end <= start)
        {
            return true;
        }

        int i = FirstEndingAfter(start);
        return i < _ranges.Count && _ranges[i].Start <= start && _ranges[i].End >= end;
    }

    public bool Contains(long value) => ContainsAll(value, value + 1);

    /// <summary>True when some value in [start, end) is in the set.</summary>
    public bool Overlaps(long start, long end)
    {
        if (end <= start)
        {
            return false;
        }

        int i = FirstEndingAfter(start);
        return i < _ranges.Count && _ranges[i].Start < end;
    }

    /// <summary>The end of the range that contains <paramref name="from"/>, or <paramref name="from"/> when it is not covered.</summary>
    public long ContiguousEnd(long from)
    {
        int i = FirstEndingAfter(from);
        if (i < _ranges.Count && _ranges[i].Start <= from)
        {
            return _ranges[i].End;
        }

        return from;
    }

    /// <summary>Removes and returns the lowest part of the set, at most <paramref name="maxLength"/> long.</summary>
    public bool TryTakeFirst(long maxLength, out ByteRange taken)
    {
        if (_ranges.Count == 0 || maxLength <= 0)
        {
            taken = default;
            return false;
        }

        var r = _ranges[0];
        long len = Math.Min(maxLength, r.Length);
        taken = new ByteRange(r.Start, r.Start + len);
        if (len == r.Length)
        {
            _ranges.RemoveAt(0);
        }
        else
        {
            _ranges[0] = new ByteRange(r.Start + len, r.End);
        }

        TotalLength -= len;
        return true;
    }

    /// <summary>Drops the lowest ranges until at most <paramref name="maxRanges"/> remain.</summary>
    public void TrimLowest(int maxRanges)
    {
        if (_ranges.Count <= maxRanges)
        {
            return;
        }

        int drop = _ranges.Count - maxRanges;
        for (int k = 0; k < drop; k++)
        {
            TotalLength -= _ranges[k].Length;
        }

        _ranges.RemoveRange(0, drop);
    }

    /// <summary>The gaps of this set inside [start, end), in order.</summary>
    public IEnumerable<ByteRange> Gaps(long start, long end)
    {
        long cursor = start;
        for (int i = FirstEndingAfter(start); i < _ranges.Count && cursor < end; i++)
        {
            var r = _ranges[i];
            if (r.Start > cursor)
            {
                yield return new ByteRange(cursor, Math.Min(r.Start, end));
            }

            cursor = Math.Max(cursor, r.End);
        }

        if (cursor < end)
        {
            yield return new ByteRange(cursor, end);
        }
    }

    public List<ByteRange>.Enumerator GetEnumerator() => _ranges.GetEnumerator();

    IEnumerator<ByteRange> IEnumerable<ByteRange>.GetEnumerator() => _ranges.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _ranges.GetEnumerator();

    public override string ToString() => string.Join(",", _ranges);

    // Index of the first range with End >= value (a range ending exactly at value is adjacent and merges).
    private int FirstEndingAtOrAfter(long value)
    {
        int lo = 0, hi = _ranges.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_ranges[mid].End < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    // Index of the first range with End > value (the first that can contain value).
    private int FirstEndingAfter(long value)
    {
        int lo = 0, hi = _ranges.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_ranges[mid].End <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
