using Ferry.Protocol.Jobs;
using Xunit;

namespace Ferry.Tests.Jobs;

public sealed class JobLayoutTests
{
    [Fact]
    public void Files_lie_end_to_end_and_empty_files_take_no_bytes()
    {
        var layout = new JobLayout([3, 0, 5, 0, 0, 1]);
        Assert.Equal(9, layout.TotalSize);
        Assert.Equal([0L, 3, 3, 8, 8, 8], Enumerable.Range(0, 6).Select(layout.Start));
        Assert.Equal(0, layout.FileAt(2));
        Assert.Equal(2, layout.FileAt(3));
        Assert.Equal(2, layout.FileAt(7));
        Assert.Equal(5, layout.FileAt(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.FileAt(9));
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.FileAt(-1));
    }

    [Fact]
    public void A_range_across_files_splits_into_one_piece_per_file()
    {
        var layout = new JobLayout([3, 0, 5, 0, 1]);
        var pieces = new List<JobLayout.Segment>();
        foreach (var s in layout.Segments(1, 8))
        {
            pieces.Add(s);
        }

        Assert.Equal(
            [new JobLayout.Segment(0, 1, 0, 2), new JobLayout.Segment(2, 0, 2, 5), new JobLayout.Segment(4, 0, 7, 1)],
            pieces);
    }

    [Fact]
    public void Every_byte_maps_to_the_file_a_naive_walk_finds()
    {
        var rng = new Random(1234);
        for (int round = 0; round < 50; round++)
        {
            var sizes = Enumerable.Range(0, rng.Next(1, 40)).Select(_ => rng.Next(4) == 0 ? 0L : rng.Next(1, 20)).ToArray();
            var layout = new JobLayout(sizes);
            var owner = new List<(int File, long Offset)>();
            for (int f = 0; f < sizes.Length; f++)
            {
                for (long o = 0; o < sizes[f]; o++)
                {
                    owner.Add((f, o));
                }
            }

            Assert.Equal(owner.Count, layout.TotalSize);
            for (int b = 0; b < owner.Count; b++)
            {
                Assert.Equal(owner[b].File, layout.FileAt(b));
            }

            for (int trial = 0; trial < 20 && owner.Count > 0; trial++)
            {
                long start = rng.Next(owner.Count);
                long length = rng.Next((int)(owner.Count - start) + 1);
                long covered = 0;
                foreach (var s in layout.Segments(start, length))
                {
                    Assert.True(s.Length > 0);
                    Assert.Equal(covered, s.RangeOffset);
                    Assert.Equal(owner[(int)(start + covered)], (s.File, s.FileOffset));
                    Assert.Equal(owner[(int)(start + covered + s.Length - 1)], (s.File, s.FileOffset + s.Length - 1));
                    covered += s.Length;
                }

                Assert.Equal(length, covered);
            }
        }
    }

    [Fact]
    public void Bad_sizes_and_ranges_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new JobLayout([1, -1]));
        Assert.Throws<ArgumentException>(() => new JobLayout([JobLayout.MaxTotalSize, 1]));
        var layout = new JobLayout([4]);
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.Segments(2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.Segments(-1, 1));
        Assert.False(layout.Segments(4, 0).MoveNext());
        Assert.Equal(0, new JobLayout([]).TotalSize);
    }
}
