using Ferry.Protocol.Common;

namespace Ferry.Tests.Files;

/// <summary>RangeSet against a bool[] model under seeded random operations (the engine's journals depend on it).</summary>
public class RangeSetModelTests
{
    private const int Universe = 300;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void RandomOperations_MatchBoolArrayModel(int seed)
    {
        var rng = new Random(seed);
        var set = new RangeSet();
        var model = new bool[Universe];
        for (int step = 0; step < 3000; step++)
        {
            int a = rng.Next(Universe + 1);
            int b = rng.Next(Universe + 1);
            // Mostly short ranges, sometimes long ones, sometimes empty or reversed.
            if (rng.Next(4) != 0)
            {
                b = Math.Min(Universe, a + rng.Next(12));
            }

            int lo = Math.Min(a, b), hi = Math.Max(a, b);
            string ctx = $"seed {seed} step {step}";
            switch (rng.Next(8))
            {
                case 0:
                case 1:
                {
                    long expected = Count(model, lo, hi, false);
                    Assert.True(expected == set.Add(lo, hi), $"Add[{lo},{hi}) {ctx}");
                    Fill(model, lo, hi, true);
                    Assert.Equal(0, set.Add(hi, lo));
                    break;
                }

                case 2:
                {
                    long expected = Count(model, lo, hi, true);
                    Assert.True(expected == set.Remove(lo, hi), $"Remove[{lo},{hi}) {ctx}");
                    Fill(model, lo, hi, false);
                    break;
                }

                case 3:
                    Assert.True(Count(model, lo, hi, true) == hi - lo == set.ContainsAll(lo, hi), $"ContainsAll[{lo},{hi}) {ctx}");
                    Assert.True(Count(model, lo, hi, true) > 0 == set.Overlaps(lo, hi), $"Overlaps[{lo},{hi}) {ctx}");
                    break;
                case 4:
                    Assert.True(ModelGaps(model, lo, hi).SequenceEqual(set.Gaps(lo, hi)), $"Gaps[{lo},{hi}) {ctx}");
                    break;
                case 5:
                {
                    int max = rng.Next(0, 20);
                    bool took = set.TryTakeFirst(max, out var taken);
                    int first = Array.IndexOf(model, true);
                    if (first < 0 || max <= 0)
                    {
                        Assert.False(took, $"TryTakeFirst({max}) {ctx}");
                        break;
                    }

                    int end = first;
                    while (end < Universe && model[end] && end - first < max)
                    {
                        end++;
                    }

                    Assert.True(took, ctx);
                    Assert.Equal(new ByteRange(first, end), taken);
                    Fill(model, first, end, false);
                    break;
                }

                case 6:
                {
                    int keep = rng.Next(0, 30);
                    var ranges = ModelGaps(model.Select(v => !v).ToArray(), 0, Universe).ToList();
                    for (int k = 0; k < ranges.Count - keep; k++)
                    {
                        Fill(model, (int)ranges[k].Start, (int)ranges[k].End, false);
                    }

                    set.TrimLowest(keep);
                    break;
                }

                default:
                    Assert.Equal(ModelContiguousEnd(model, lo), set.ContiguousEnd(lo));
                    Assert.Equal(lo < Universe && model[lo], set.Contains(lo));
                    break;
            }

            AssertSameShape(model, set, ctx);
        }
    }

    private static void AssertSameShape(bool[] model, RangeSet set, string ctx)
    {
        var expected = ModelGaps(model.Select(v => !v).ToArray(), 0, Universe).ToList();
        var actual = set.ToList();
        Assert.True(expected.SequenceEqual(actual), $"ranges differ: expected {string.Join(",", expected)} {ctx}");
        Assert.Equal(model.Count(v => v), set.TotalLength);
        Assert.Equal(actual.Count, set.Count);
        Assert.Equal(actual.Count == 0, set.IsEmpty);
    }

    private static long Count(bool[] model, int lo, int hi, bool value)
    {
        long n = 0;
        for (int i = lo; i < hi; i++)
        {
            if (model[i] == value)
            {
                n++;
            }
        }

        return n;
    }

    private static void Fill(bool[] model, int lo, int hi, bool value)
    {
        for (int i = lo; i < hi; i++)
        {
            model[i] = value;
        }
    }

    private static long ModelContiguousEnd(bool[] model, int from)
    {
        int i = from;
        while (i < Universe && model[i])
        {
            i++;
        }

        return i;
    }

    private static IEnumerable<ByteRange> ModelGaps(bool[] model, int lo, int hi)
    {
        int i = lo;
        while (i < hi)
        {
            if (model[i])
            {
                i++;
                continue;
            }

            int start = i;
            while (i < hi && !model[i])
            {
                i++;
            }

            yield return new ByteRange(start, i);
        }
    }
}
