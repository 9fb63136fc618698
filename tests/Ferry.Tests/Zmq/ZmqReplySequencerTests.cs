using Ferry.Protocol.Zmq;

namespace Ferry.Tests.Zmq;

public sealed class ZmqReplySequencerTests
{
    [Fact]
    public void Replies_leave_in_arrival_order_per_client_whatever_order_they_complete_in()
    {
        var rng = new Random(3);
        var seq = new ZmqReplySequencer<string, (string Client, int Index)>();
        var arrivals = new List<(string Client, int Index, long Seq)>();
        var counts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0, ["c"] = 0 };
        for (int i = 0; i < 3000; i++)
        {
            string c = "abc"[rng.Next(3)].ToString();
            var stamp = seq.Arrive(c);
            arrivals.Add((c, counts[c]++, stamp.Sequence));
        }

        var sent = new Dictionary<string, List<int>> { ["a"] = new(), ["b"] = new(), ["c"] = new() };
        var release = new List<(string Client, int Index)>();
        foreach (var a in arrivals.OrderBy(_ => rng.Next()))
        {
            release.Clear();
            seq.Complete(a.Client, a.Seq, (a.Client, a.Index), release);
            foreach (var r in release)
            {
                Assert.Equal(a.Client, r.Client);
                sent[r.Client].Add(r.Index);
            }
        }

        foreach (var (c, n) in counts)
        {
            Assert.Equal(Enumerable.Range(0, n), sent[c]);
        }

        Assert.Equal(0, seq.ClientCount);
    }

    [Fact]
    public void Stamp_names_the_oldest_unanswered_request_of_the_same_client()
    {
        var seq = new ZmqReplySequencer<string, int>();
        var a0 = seq.Arrive("a");
        Assert.Equal(a0.Sequence, a0.FirstUnanswered);
        var b0 = seq.Arrive("b");
        Assert.Equal(b0.Sequence, b0.FirstUnanswered);
        var a1 = seq.Arrive("a");
        Assert.Equal(a0.Sequence, a1.FirstUnanswered);
        Assert.Equal(2, seq.Unanswered("a"));

        var release = new List<int>();
        seq.Complete("a", a1.Sequence, 1, release);
        Assert.Empty(release); // a0 still owed
        seq.Complete("a", a0.Sequence, 0, release);
        Assert.Equal(new[] { 0, 1 }, release);
        Assert.Equal(0, seq.Unanswered("a"));

        var a2 = seq.Arrive("a");
        Assert.Equal(a2.Sequence, a2.FirstUnanswered);
        Assert.True(a2.Sequence > b0.Sequence); // numbers are never reused
    }

    [Fact]
    public void Completing_twice_or_unknown_throws()
    {
        var seq = new ZmqReplySequencer<string, int>();
        var a = seq.Arrive("a");
        seq.Arrive("a");
        var release = new List<int>();
        seq.Complete("a", a.Sequence + 1, 1, release);
        Assert.Throws<InvalidOperationException>(() => seq.Complete("a", a.Sequence + 1, 1, release));
        Assert.Throws<InvalidOperationException>(() => seq.Complete("zzz", 0, 1, release));
    }
}
