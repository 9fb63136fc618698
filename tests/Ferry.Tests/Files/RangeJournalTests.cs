using Ferry.Files;
using Ferry.Protocol.Common;

namespace Ferry.Tests.Files;

public class RangeJournalTests
{
    [Fact]
    public void RoundTrip_PreservesEverything()
    {
        using var dir = new TempDir();
        string path = dir.Combine("j.ferry-journal");
        var ranges = new RangeSet();
        ranges.Add(0, 10);
        ranges.Add(20, 4096);
        ranges.Add(1L << 40, (1L << 40) + 5);
        RangeJournal.Write(path, 1L << 41, new FileIdentity(77, -5), "/srv/ü/f.bin", ranges);
        var r = RangeJournal.TryRead(path);
        Assert.NotNull(r);
        Assert.Equal(1L << 41, r.Value.Size);
        Assert.Equal(new FileIdentity(77, -5), r.Value.Identity);
        Assert.Equal("/srv/ü/f.bin", r.Value.FinalPath);
        Assert.Equal(ranges.ToList(), r.Value.Ranges.ToList());
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void EveryTruncation_IsRejected()
    {
        using var dir = new TempDir();
        string path = dir.Combine("j.ferry-journal");
        var ranges = new RangeSet();
        ranges.Add(5, 10);
        RangeJournal.Write(path, 100, new FileIdentity(100, 1), "/f", ranges);
        var bytes = File.ReadAllBytes(path);
        for (int len = 0; len < bytes.Length; len++)
        {
            File.WriteAllBytes(path, bytes[..len]);
            Assert.Null(RangeJournal.TryRead(path));
        }
    }

    [Fact]
    public void RangesBeyondSize_AreRejected()
    {
        using var dir = new TempDir();
        string path = dir.Combine("j.ferry-journal");
        var ranges = new RangeSet();
        ranges.Add(50, 150);
        RangeJournal.Write(path, 100, new FileIdentity(100, 1), "/f", ranges);
        Assert.Null(RangeJournal.TryRead(path));
    }

    [Fact]
    public void Missing_IsNull()
    {
        using var dir = new TempDir();
        Assert.Null(RangeJournal.TryRead(dir.Combine("none")));
    }
}
