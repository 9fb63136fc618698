using Ferry.Hosting;

namespace Ferry.Tests.Hosting;

/// <summary>The server's rate caps divided among running transfers.</summary>
public class RateBudgetTests
{
    [Fact]
    public void The_total_is_divided_equally_and_again_as_transfers_start_and_end()
    {
        var budget = new RateBudget(0, 60_000_000);
        var changes = new List<(string Who, long Limit)>();
        var a = budget.Join(0, l => changes.Add(("a", l)));
        Assert.Equal(60_000_000, a.Limit);

        var b = budget.Join(0, l => changes.Add(("b", l)));
        var c = budget.Join(0, l => changes.Add(("c", l)));
        Assert.Equal([20_000_000, 20_000_000, 20_000_000], new[] { a.Limit, b.Limit, c.Limit });
        Assert.Contains(("a", 20_000_000), changes);
        Assert.Contains(("b", 20_000_000), changes);
        Assert.DoesNotContain(changes, ch => ch.Who == "c"); // told by Join's answer, not by a call

        b.Dispose();
        Assert.Equal(30_000_000, a.Limit);
        Assert.Equal(30_000_000, c.Limit);
        Assert.Contains(("c", 30_000_000), changes);
        Assert.DoesNotContain(changes, ch => ch.Who == "b" && ch.Limit == 30_000_000);
    }

    [Fact]
    public void A_transfer_asking_for_less_than_its_share_leaves_the_rest_to_the_others()
    {
        var budget = new RateBudget(0, 60_000_000);
        var slow = budget.Join(10_000_000);
        var a = budget.Join(0);
        var b = budget.Join(80_000_000);
        Assert.Equal(10_000_000, slow.Limit);
        Assert.Equal(25_000_000, a.Limit);
        Assert.Equal(25_000_000, b.Limit);
    }

    [Fact]
    public void The_per_transfer_cap_holds_under_a_larger_total_and_request()
    {
        var budget = new RateBudget(40_000_000, 100_000_000);
        var a = budget.Join(0);
        var b = budget.Join(80_000_000);
        var c = budget.Join(30_000_000);
        Assert.Equal(35_000_000, a.Limit);
        Assert.Equal(35_000_000, b.Limit);
        Assert.Equal(30_000_000, c.Limit);

        c.Dispose();
        Assert.Equal(40_000_000, a.Limit);
        Assert.Equal(40_000_000, b.Limit);
    }

    [Fact]
    public void Without_caps_a_transfer_gets_what_it_asked_for()
    {
        var budget = new RateBudget(0, 0);
        Assert.Equal(0, budget.Join(0).Limit);
        Assert.Equal(7_000_000, budget.Join(7_000_000).Limit);
    }

    [Fact]
    public void Leaving_twice_is_harmless_and_the_generation_moves_with_each_division()
    {
        var budget = new RateBudget(0, 10_000_000);
        long g0 = budget.Generation;
        var a = budget.Join(0);
        var b = budget.Join(0);
        Assert.True(budget.Generation > g0);
        b.Dispose();
        b.Dispose();
        Assert.Equal(1, budget.Count);
        Assert.Equal(10_000_000, a.Limit);
    }
}
