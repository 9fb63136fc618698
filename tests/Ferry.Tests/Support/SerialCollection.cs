namespace Ferry.Tests.Support;

/// <summary>Tests that measure process-wide quantities (managed heap) run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial (process-wide measurements)";
}
