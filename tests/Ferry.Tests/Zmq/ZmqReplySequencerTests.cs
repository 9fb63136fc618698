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

    [Fact]
    public void Limits_refuse_past_the_unanswered_maximum_and_drop_past_the_owed_maximum_deterministically()
    {
        var seq = new ZmqReplySequencer<string, string>(maxUnanswered: 3, maxOwed: 5);
        var admitted = new List<(ZmqArrival Arrival, bool OverLimit)>();
        for (int i = 0; i < 7; i++)
        {
            if (seq.TryArrive("a", out var arrival, out bool over))
            {
                admitted.Add((arrival, over));
            }
        }

        // 3 served, 2 refused (each keeps its place), then 2 dropped without a place.
        Assert.Equal(new[] { false, false, false, true, true }, admitted.Select(a => a.OverLimit));
        Assert.Equal(5, seq.Unanswered("a"));
        Assert.True(seq.TryArrive("b", out _, out bool otherOver)); // other clients are not affected
        Assert.False(otherOver);

        // Answering the first request makes room again, in order.
        var release = new List<string>();
        seq.Complete("a", admitted[0].Arrival.Sequence, "r0", release);
        Assert.Equal(new[] { "r0" }, release);
        Assert.True(seq.TryArrive("a", out _, out bool over2));
        Assert.True(over2); // still 5 unanswered counting the refusals: refused, in order

        release.Clear();
        for (int i = 1; i < admitted.Count; i++)
        {
            seq.Complete("a", admitted[i].Arrival.Sequence, "r" + i, release);
        }

        Assert.Equal(new[] { "r1", "r2", "r3", "r4" }, release);
        Assert.Equal(1, seq.Unanswered("a"));
    }
}
