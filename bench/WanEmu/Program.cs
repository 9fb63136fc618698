using System.Runtime.InteropServices;
using Ferry.Bench.WanEmu;

// WAN link emulator between two network namespaces: see CommandLine.Usage and bench/wan.sh.
CommandLine cl;
try
{
    cl = CommandLine.Parse(args);
}
catch (FormatException e)
{
    if (e.Message.Length > 0)
    {
        Console.Error.WriteLine("WanEmu: " + e.Message);
    }

    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}

int fdA, fdB;
try
{
    fdA = TunDevice.OpenInNamespace(cl.ANamespace, cl.ADevice);
    fdB = TunDevice.OpenInNamespace(cl.BNamespace, cl.BDevice);
}
catch (Exception e) when (e is IOException or ArgumentException)
{
    Console.Error.WriteLine("WanEmu: " + e.Message);
    return 1;
}

// Each direction gets its own stream of random decisions, derived from the one seed.
var ab = new LinkDirection("a->b", fdA, fdB, cl.AToB, cl.Seed * 2 + 1, cl.Mtu, cl.MaxInFlight, cl.RealtimePriority);
var ba = new LinkDirection("b->a", fdB, fdA, cl.BToA, cl.Seed * 2 + 2, cl.Mtu, cl.MaxInFlight, cl.RealtimePriority);
var reporter = new Reporter([ab, ba], cl.Json);
using var stop = new ManualResetEventSlim();
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Set(); });
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Set(); });
using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx => { ctx.Cancel = true; reporter.PrintTotals("counters"); });

ab.Failed += stop.Set;
ba.Failed += stop.Set;
ab.Start();
ba.Start();
Console.WriteLine($"ready a={cl.ANamespace}:{cl.ADevice} b={cl.BNamespace}:{cl.BDevice} seed={cl.Seed} pid={Environment.ProcessId}");
Console.WriteLine($"a->b: {cl.AToB}");
Console.WriteLine($"b->a: {cl.BToA}");

var interval = cl.StatsIntervalSeconds > 0 ? TimeSpan.FromSeconds(cl.StatsIntervalSeconds) : Timeout.InfiniteTimeSpan;
while (!stop.Wait(interval))
{
    reporter.PrintInterval();
}

ab.Stop();
ba.Stop();
reporter.PrintTotals("final");
// Every GC stops the forwarding threads when they return from a system call, so say how many there were.
Console.WriteLine(cl.Json
    ? $"{{\"event\":\"gc\",\"gen0\":{GC.CollectionCount(0)},\"gen1\":{GC.CollectionCount(1)},\"gen2\":{GC.CollectionCount(2)},\"pause_ms\":{GC.GetTotalPauseDuration().TotalMilliseconds:F1}}}"
    : $"gc: gen0 {GC.CollectionCount(0)}, gen1 {GC.CollectionCount(1)}, gen2 {GC.CollectionCount(2)}, total pause {GC.GetTotalPauseDuration().TotalMilliseconds:F1} ms");
Native.Close(fdA);
Native.Close(fdB);
foreach (var d in new[] { ab, ba })
{
    if (d.Failure is not null)
    {
        Console.Error.WriteLine($"WanEmu: {d.Failure.Message}");
        return 1;
    }
}

return 0;
