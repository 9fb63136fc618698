namespace Ferry.Tests.Fuzz;

/// <summary>
/// One thing to fuzz: a seed corpus of valid messages built with the real encoders, and a function that feeds one
/// input to the parser (and, where cheap, the state machine behind it). <see cref="Run"/> returns true when the input
/// was accepted as valid, which lets the runner keep it as a new corpus entry. Any exception escaping it is a crash.
/// </summary>
/// <param name="Name">Short name used in reports and file names (e.g. "udp.packet").</param>
/// <param name="Create">Builds a fresh instance (state machines are rebuilt every <see cref="ResetEvery"/> inputs).</param>
/// <param name="MaxAllocatedBytesPerInput">Cap on managed bytes allocated while handling one input.</param>
/// <param name="MaxInputLength">Mutated inputs are cut to this length.</param>
/// <param name="ResetEvery">Inputs handled by one instance before a fresh one is built.</param>
/// <param name="ShortRunShare">Share of the test suite's default input count this target runs (slow targets run fewer).</param>
internal sealed record FuzzTarget(
    string Name,
    Func<IFuzzInstance> Create,
    long MaxAllocatedBytesPerInput,
    int MaxInputLength = 4096,
    int ResetEvery = 1000,
    double ShortRunShare = 1.0)
{
    public override string ToString() => Name;
}

/// <summary>A live instance of a fuzz target: its seeds and the handler of one input.</summary>
internal interface IFuzzInstance : IDisposable
{
    /// <summary>Valid messages built with the real encoders.</summary>
    IReadOnlyList<byte[]> Seeds { get; }

    /// <summary>Handles one input; true when it was accepted. <paramref name="rng"/> drives any choices (deterministic).</summary>
    bool Run(byte[] input, Random rng);

    /// <summary>Most instances hold nothing to release.</summary>
    void IDisposable.Dispose()
    {
    }
}

/// <summary>Thrown by a target when a property other than "does not throw" is broken (no progress, a bound exceeded).</summary>
internal sealed class FuzzPropertyException(string message) : Exception(message);
