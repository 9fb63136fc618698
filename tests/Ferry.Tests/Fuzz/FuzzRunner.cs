using System.Text;

namespace Ferry.Tests.Fuzz;

/// <summary>What one campaign against one target found.</summary>
internal sealed record FuzzReport(string Target, int Seed, long Inputs, long Accepted, long MaxAllocated, IReadOnlyList<FuzzCrash> Crashes)
{
    public string Summary =>
        $"{Target,-16} seed {Seed,-11} inputs {Inputs,10:N0}  accepted {Accepted,9:N0}  max alloc/input {MaxAllocated,9:N0} B  crashes {Crashes.Count}";
}

/// <summary>An input that broke a property, with the exception it raised.</summary>
internal sealed record FuzzCrash(long Index, byte[] Input, string Error)
{
    public string Hex => Convert.ToHexString(Input);
}

/// <summary>
/// The mutational fuzzing loop: pick a corpus entry, mutate it, feed it to the target, check the properties:
/// no exception escapes, allocation per input stays under the target's cap. Hangs are caught by the targets' own
/// step counters (every loop they drive is bounded), never by a timer. Deterministic for a given seed.
/// </summary>
internal static class FuzzRunner
{
    /// <summary>Most corpus entries kept (seeds plus accepted mutants).</summary>
    private const int MaxCorpus = 512;

    /// <summary>Distinct crashes kept before the campaign stops.</summary>
    private const int MaxCrashes = 8;

    /// <summary>Runs <paramref name="inputs"/> inputs, or until <paramref name="deadline"/> when given (long campaigns only).</summary>
    public static FuzzReport Run(FuzzTarget target, int seed, long inputs, DateTime? deadline = null)
    {
        var rng = new Random(seed);
        var mutator = new Mutator(rng, target.MaxInputLength);
        var instance = target.Create();
        var corpus = new List<byte[]>(instance.Seeds);
        int seedCount = corpus.Count;
        var crashes = new List<FuzzCrash>();
        var seenErrors = new HashSet<string>();
        long accepted = 0, maxAllocated = 0, i = 0;
        int sinceReset = 0;

        // The seeds themselves must be accepted: otherwise the corpus does not exercise what it claims to.
        foreach (var s in instance.Seeds)
        {
            if (!instance.Run(s, rng))
            {
                throw new InvalidOperationException($"{target.Name}: seed {Convert.ToHexString(s)} is not accepted");
            }
        }

        instance.Dispose();
        instance = target.Create();
        for (; i < inputs; i++)
        {
            if (deadline is { } d && (i & 1023) == 0 && DateTime.UtcNow >= d)
            {
                break;
            }

            if (++sinceReset > target.ResetEvery)
            {
                instance.Dispose();
                instance = target.Create();
                sinceReset = 0;
            }

            var parent = corpus[rng.Next(corpus.Count)];
            var input = rng.Next(16) == 0 ? RandomBytes(rng, target.MaxInputLength) : mutator.Mutate(parent, corpus);
            long before = GC.GetAllocatedBytesForCurrentThread();
            string? error = null;
            bool ok = false;
            try
            {
                ok = instance.Run(input, rng);
            }
            catch (Exception e)
            {
                error = $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}";
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            maxAllocated = Math.Max(maxAllocated, allocated);
            if (error is null && allocated > target.MaxAllocatedBytesPerInput)
            {
                error = $"allocated {allocated} bytes for one input (cap {target.MaxAllocatedBytesPerInput})";
            }

            if (error is not null)
            {
                // One report per distinct failure site (exception type and first stack line).
                string key = error.Split('\n')[0].Split(':')[0] + FirstFrame(error);
                if (seenErrors.Add(key))
                {
                    crashes.Add(new FuzzCrash(i, input, error));
                }

                if (crashes.Count >= MaxCrashes)
                {
                    i++;
                    break;
                }

                // A crashed instance may be in any state: start over.
                instance.Dispose();
                instance = target.Create();
                sinceReset = 0;
                continue;
            }

            if (ok)
            {
                accepted++;
                if (rng.Next(8) == 0)
                {
                    // Keep valid mutants: they reach deeper states. Replace a non-seed entry once full.
                    if (corpus.Count < MaxCorpus)
                    {
                        corpus.Add(input);
                    }
                    else
                    {
                        corpus[seedCount + rng.Next(MaxCorpus - seedCount)] = input;
                    }
                }
            }
        }

        instance.Dispose();
        return new FuzzReport(target.Name, seed, i, accepted, maxAllocated, crashes);
    }

    /// <summary>Writes every crash of <paramref name="report"/> as hex with its error under <paramref name="directory"/>.</summary>
    public static void SaveCrashes(FuzzReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var c in report.Crashes)
        {
            var text = new StringBuilder()
                .AppendLine($"target {report.Target} seed {report.Seed} input #{c.Index}")
                .AppendLine(c.Hex)
                .AppendLine(c.Error)
                .ToString();
            File.WriteAllText(Path.Combine(directory, $"crash-{report.Target}-{report.Seed}-{c.Index}.txt"), text);
        }
    }

    private static string FirstFrame(string error)
    {
        var lines = error.Split('\n');
        return lines.Length > 1 ? lines[1].Trim() : string.Empty;
    }

    private static byte[] RandomBytes(Random rng, int maxLength)
    {
        var b = new byte[rng.Next(Math.Min(maxLength, 256) + 1)];
        rng.NextBytes(b);
        return b;
    }
}
