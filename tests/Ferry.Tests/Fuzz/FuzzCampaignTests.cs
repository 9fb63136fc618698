using System.Globalization;
using Xunit.Abstractions;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// A short deterministic fuzz run of every parser (fixed seed, a fixed number of inputs). bench/fuzz.sh runs the same
/// test as a long campaign through environment variables: FERRY_FUZZ_SEED (any int), FERRY_FUZZ_INPUTS (per target),
/// FERRY_FUZZ_SECONDS (per target, stops earlier), FERRY_FUZZ_OUT (directory for the summary and crashing inputs).
/// </summary>
public class FuzzCampaignTests
{
    private const int DefaultSeed = 20261121;
    private const long DefaultInputs = 30_000;
    private readonly ITestOutputHelper _output;

    public FuzzCampaignTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> TargetNames()
    {
        var data = new TheoryData<string>();
        foreach (var t in FuzzTargets.All)
        {
            data.Add(t.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Mutated_inputs_never_crash_hang_or_allocate_without_bound(string name)
    {
        var target = FuzzTargets.Get(name);
        int seed = Env("FERRY_FUZZ_SEED") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : DefaultSeed;
        long inputs = Env("FERRY_FUZZ_INPUTS") is { } n ? long.Parse(n, CultureInfo.InvariantCulture) : (long)(DefaultInputs * target.ShortRunShare);
        DateTime? deadline = Env("FERRY_FUZZ_SECONDS") is { } sec ? DateTime.UtcNow.AddSeconds(double.Parse(sec, CultureInfo.InvariantCulture)) : null;
        var report = FuzzRunner.Run(target, seed, inputs, deadline);
        _output.WriteLine(report.Summary);
        if (Env("FERRY_FUZZ_OUT") is { } dir)
        {
            FuzzRunner.SaveCrashes(report, dir);
            File.AppendAllText(Path.Combine(dir, $"summary-{seed}.txt"), report.Summary + Environment.NewLine);
        }

        foreach (var c in report.Crashes)
        {
            _output.WriteLine($"input #{c.Index}: {c.Hex}\n{c.Error}");
        }

        Assert.True(report.Crashes.Count == 0, $"{name}: {report.Crashes.Count} crash(es); first input {report.Crashes.FirstOrDefault()?.Hex}\n{report.Crashes.FirstOrDefault()?.Error}");
        Assert.True(report.Accepted > 0, $"{name}: no mutated input was accepted: the fuzzer does not reach past the first check");
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
