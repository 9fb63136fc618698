using System.Text.Json;
using Xunit;

namespace Ferry.Tests.Cli;

/// <summary>The runtime settings the real <c>ferry</c> starts with (its ferry.runtimeconfig.json, copied next to the tests).</summary>
public sealed class RuntimeConfigTests
{
    [Fact]
    public void FerryRunsWithConcurrentGcSoGen0StaysSmallAndATreeOfManyFilesStaysUnder200MiB()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ferry.runtimeconfig.json")));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        // Non-concurrent workstation GC lets gen0 grow to 200 MB between collections: garbage, not live data, was
        // most of a 100,000-file job's peak RSS.
        Assert.True(properties.GetProperty("System.GC.Concurrent").GetBoolean());
        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
    }

    [Fact]
    public void FerryStartsWithEnoughPoolThreadsThatAJobsBlockedReceiversDoNotStarveTheRest()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ferry.runtimeconfig.json")));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        // A tree download's receivers wait on file slots and group commits on pool threads; one thread a core made
        // the rest of the job wait for the pool to grow (half a second a thread).
        Assert.True(properties.GetProperty("System.Threading.ThreadPool.MinThreads").GetInt32() >= 16);
    }
}
