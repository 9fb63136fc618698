namespace Ferry.Protocol.Jobs;

/// <summary>
/// The byte space of a job: its files laid end to end in manifest order, so that one offset names one byte of one
/// file, as a multi-file torrent maps its pieces. File <c>i</c> occupies <c>[Start(i), Start(i) + Size(i))</c>; a 0-byte
/// file occupies nothing. A transport moves the job as one stream of <see cref="TotalSize"/> bytes (one ACK space,
/// one congestion controller, small files packed together in one datagram or block) and the two ends map offsets
/// back to (file, offset) with this table. Immutable; lookups are a binary search.
/// </summary>
public sealed class JobLayout
{
    private readonly long[] _starts;
    private readonly long[] _sizes;

    /// <summary>Lays out files of the given sizes; throws <see cref="ArgumentException"/> on a negative size or a total past 2^62.</summary>
    public JobLayout(IReadOnlyList<long> sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        _starts = new long[sizes.Count];
        _sizes = new long[sizes.Count];
        long next = 0;
        for (int i = 0; i < sizes.Count; i++)
        {
            long size = sizes[i];
            if (size < 0 || size > MaxTotalSize - next)
            {
                throw new ArgumentException($"file {i}: size {size} is negative or takes the job past {MaxTotalSize} bytes", nameof(sizes));
            }

            _starts[i] = next;
            _sizes[i] = size;
            next += size;
        }

        TotalSize = next;
    }

    /// <summary>Largest job, in bytes (offsets travel as 62-bit values).</summary>
    public const long MaxTotalSize = (1L << 62) - 1;

    /// <summary>Files in the job.</summary>
    public int Count => _sizes.Length;

    /// <summary>Sum of the files' sizes: the length of the job's byte space.</summary>
    public long TotalSize { get; }

    /// <summary>Where file <paramref name="file"/> starts in the job's byte space.</summary>
    public long Start(int file) => _starts[file];

    /// <summary>Size of file <paramref name="file"/>.</summary>
    public long Size(int file) => _sizes[file];

    /// <summary>
    /// The file that holds byte <paramref name="offset"/> (0 &lt;= offset &lt; <see cref="TotalSize"/>): the last file
    /// starting at or before it that is not empty.
    /// </summary>
    public int FileAt(long offset)
    {
        if ((ulong)offset >= (ulong)TotalSize)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"outside the job's {TotalSize} bytes");
        }

        // Upper bound of offset among the starts, then back over empty files (they share their start with the next).
        int lo = 0, hi = _starts.Length - 1;
        while (lo < hi)
        {
            int mid = lo + ((hi - lo + 1) >> 1);
            if (_starts[mid] <= offset)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        while (_sizes[lo] == 0 || _starts[lo] + _sizes[lo] <= offset)
        {
            lo++;
        }

        return lo;
    }

    /// <summary>
    /// The pieces of <c>[offset, offset + length)</c>, one per file it touches, in order; empty files are skipped.
    /// Throws when the range leaves the job.
    /// </summary>
    public SegmentEnumerator Segments(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > TotalSize - length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"[{offset}, +{length}) is outside the job's {TotalSize} bytes");
        }

        return new SegmentEnumerator(this, offset, length);
    }

    /// <summary>Whole-file range of <paramref name="file"/> in the job's byte space.</summary>
    public (long Start, long End) RangeOf(int file) => (_starts[file], _starts[file] + _sizes[file]);

    /// <summary>One piece of a job range that lies in one file.</summary>
    /// <param name="File">Index of the file.</param>
    /// <param name="FileOffset">Offset inside the file.</param>
    /// <param name="RangeOffset">Offset inside the job range (and the caller's buffer).</param>
    /// <param name="Length">Bytes in this piece (at least 1).</param>
    public readonly record struct Segment(int File, long FileOffset, long RangeOffset, long Length);

    /// <summary>Allocation-free enumerator over <see cref="Segments"/>.</summary>
    public struct SegmentEnumerator
    {
        private readonly JobLayout _layout;
        private readonly long _offset;
        private readonly long _end;
        private long _position;
        private int _file;

        internal SegmentEnumerator(JobLayout layout, long offset, long length)
        {
            _layout = layout;
            _offset = offset;
            _end = offset + length;
            _position = offset;
            _file = length == 0 ? -1 : layout.FileAt(offset) - 1;
            Current = default;
        }

        public Segment Current { get; private set; }

        public readonly SegmentEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_position >= _end)
            {
                return false;
            }

            do
            {
                _file++;
            }
            while (_layout._sizes[_file] == 0);

            long fileStart = _layout._starts[_file];
            long take = Math.Min(_end, fileStart + _layout._sizes[_file]) - _position;
            Current = new Segment(_file, _position - fileStart, _position - _offset, take);
            _position += take;
            return true;
        }
    }
}
