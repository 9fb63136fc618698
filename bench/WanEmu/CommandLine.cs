using System.Globalization;

namespace Ferry.Bench.WanEmu;

/// <summary>The emulator's parsed command line.</summary>
internal sealed class CommandLine
{
    public const string Usage = """
        usage: WanEmu --a NETNS:DEV --b NETNS:DEV [link options] [--seed N] [--stats-interval S] [--json]

        Forwards IP packets between two TUN devices (created beforehand in the named network namespaces, see
        bench/wan.sh) with these impairments, applied to both directions; prefix an option with ab- or ba- to set
        one direction only (e.g. --ba-loss 0):
          --rate R            bottleneck rate of IP bytes, e.g. 100M, 1G (0 = none)         [0]
          --delay D           one-way delay, e.g. 25ms, 200us                               [0]
          --queue N           drop-tail queue limit in packets                              [1000]
          --loss P            random loss, e.g. 1% or 0.01                                  [0]
          --burst G,B[,L[,K]] Gilbert-Elliott loss: P(good->bad), P(bad->good), loss in bad [100%], in good [0]
          --loss-before-queue lose packets before the bottleneck (netem-like) instead of on the wire after it
          --reorder P         hold P of the packets back by --reorder-delay                 [0]
          --reorder-delay D   extra delay of a reordered packet                             [1ms]
          --duplicate P       send P of the packets twice                                   [0]
          --corrupt P         flip one bit after the IP header in P of the packets          [0]
        Other:
          --seed N            seed of every random decision (each direction derives its own) [1]
          --stats-interval S  print per-direction counters every S seconds (0 = only on exit) [0]
          --json              print counters as NDJSON lines instead of text
          --mtu N             largest packet expected from the TUN devices                  [1500]
          --max-inflight N    most packets held per direction (memory bound)                [65536]
          --realtime PRIO     run the two forwarding threads SCHED_FIFO at PRIO (1..99; 0 = normal) [0]
        Counters are printed on SIGINT/SIGTERM (then it exits) and on SIGHUP.
        """;

    public string ANamespace { get; private set; } = "";

    public string ADevice { get; private set; } = "";

    public string BNamespace { get; private set; } = "";

    public string BDevice { get; private set; } = "";

    public LinkConfig AToB { get; } = new();

    public LinkConfig BToA { get; } = new();

    public ulong Seed { get; private set; } = 1;

    public double StatsIntervalSeconds { get; private set; }

    public bool Json { get; private set; }

    public int Mtu { get; private set; } = 1500;

    public int MaxInFlight { get; private set; } = 65536;

    public int RealtimePriority { get; private set; }

    public static CommandLine Parse(string[] args)
    {
        var cl = new CommandLine();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string NextValue() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{arg} needs a value");
            switch (arg)
            {
                case "--a":
                    (cl.ANamespace, cl.ADevice) = SplitEndpoint(NextValue());
                    continue;
                case "--b":
                    (cl.BNamespace, cl.BDevice) = SplitEndpoint(NextValue());
                    continue;
                case "--seed":
                    cl.Seed = ulong.Parse(NextValue(), CultureInfo.InvariantCulture);
                    continue;
                case "--stats-interval":
                    cl.StatsIntervalSeconds = double.Parse(NextValue(), CultureInfo.InvariantCulture);
                    continue;
                case "--json":
                    cl.Json = true;
                    continue;
                case "--mtu":
                    cl.Mtu = int.Parse(NextValue(), CultureInfo.InvariantCulture) is var m and >= 576 and <= 65535 ? m : throw new FormatException("--mtu: 576..65535");
                    continue;
                case "--max-inflight":
                    cl.MaxInFlight = int.Parse(NextValue(), CultureInfo.InvariantCulture) is var f and >= 16 and <= 4_000_000 ? f : throw new FormatException("--max-inflight: 16..4000000");
                    continue;
                case "--realtime":
                    cl.RealtimePriority = int.Parse(NextValue(), CultureInfo.InvariantCulture) is var r and >= 0 and <= 99 ? r : throw new FormatException("--realtime: 0..99");
                    continue;
                case "-h":
                case "--help":
                    throw new FormatException("");
            }

            LinkConfig[] targets = arg.StartsWith("--ab-", StringComparison.Ordinal) ? [cl.AToB]
                : arg.StartsWith("--ba-", StringComparison.Ordinal) ? [cl.BToA]
                : [cl.AToB, cl.BToA];
            string option = targets.Length == 1 ? "--" + arg[5..] : arg;
            if (option == "--loss-before-queue")
            {
                foreach (var t in targets)
                {
                    t.LossBeforeQueue = true;
                }

                continue;
            }

            string v = NextValue();
            foreach (var t in targets)
            {
                ApplyLinkOption(t, option, v);
            }
        }

        if (cl.ANamespace.Length == 0 || cl.BNamespace.Length == 0)
        {
            throw new FormatException("--a and --b are required");
        }

        return cl;
    }

    private static void ApplyLinkOption(LinkConfig t, string option, string v)
    {
        switch (option)
        {
            case "--rate":
                t.RateBitsPerSecond = Units.ParseRate(v);
                break;
            case "--delay":
                t.DelayNanos = Units.ParseDurationNanos(v);
                break;
            case "--queue":
                t.QueuePackets = int.Parse(v, CultureInfo.InvariantCulture) is var q and >= 1 and <= 1_000_000 ? q : throw new FormatException("--queue: 1..1000000");
                break;
            case "--loss":
                t.Loss = Units.ParseProbability(v);
                break;
            case "--burst":
                t.Burst = Units.ParseBurst(v);
                break;
            case "--reorder":
                t.Reorder = Units.ParseProbability(v);
                break;
            case "--reorder-delay":
                t.ReorderDelayNanos = Units.ParseDurationNanos(v);
                break;
            case "--duplicate":
                t.Duplicate = Units.ParseProbability(v);
                break;
            case "--corrupt":
                t.Corrupt = Units.ParseProbability(v);
                break;
            default:
                throw new FormatException($"unknown option {option}");
        }
    }

    private static (string Namespace, string Device) SplitEndpoint(string v)
    {
        int colon = v.LastIndexOf(':');
        return colon > 0 && colon < v.Length - 1 ? (v[..colon], v[(colon + 1)..]) : throw new FormatException($"'{v}': expected NETNS:DEV");
    }
}
