using System.Globalization;
using System.Text;

namespace Ferry.Bench.WanEmu;

/// <summary>Prints per-direction counters: totals (on exit and SIGHUP) and per-interval deltas with rates.</summary>
internal sealed class Reporter
{
    private readonly IReadOnlyList<LinkDirection> _directions;
    private readonly bool _json;
    private readonly long _start = Clock.NowNanos();
    private readonly DirectionCounters[] _last;
    private long _lastAt;
    private readonly object _lock = new();

    public Reporter(IReadOnlyList<LinkDirection> directions, bool json)
    {
        _directions = directions;
        _json = json;
        _last = directions.Select(_ => new DirectionCounters()).ToArray();
        _lastAt = _start;
    }

    public void PrintTotals(string label)
    {
        lock (_lock)
        {
            long now = Clock.NowNanos();
            double elapsed = (now - _start) / 1e9;
            foreach (var d in _directions)
            {
                var c = d.Counters.Snapshot();
                Console.WriteLine(_json ? Json(label, d.Name, elapsed, elapsed, c, new DirectionCounters()) : Text(label, d.Name, elapsed, elapsed, c, new DirectionCounters()));
            }
        }
    }

    public void PrintInterval()
    {
        lock (_lock)
        {
            long now = Clock.NowNanos();
            double span = (now - _lastAt) / 1e9;
            double elapsed = (now - _start) / 1e9;
            for (int i = 0; i < _directions.Count; i++)
            {
                var c = _directions[i].Counters.Snapshot();
                Console.WriteLine(_json ? Json("interval", _directions[i].Name, elapsed, span, c, _last[i]) : Text("interval", _directions[i].Name, elapsed, span, c, _last[i]));
                _last[i] = c;
            }

            _lastAt = now;
        }
    }

    private static string Text(string label, string dir, double elapsed, double span, DirectionCounters c, DirectionCounters p)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"[{elapsed,8:F2} s] {label} {dir}: ");
        sb.Append(CultureInfo.InvariantCulture, $"in {c.PacketsIn - p.PacketsIn} pkts {Mbit(c.BytesIn - p.BytesIn, span):F2} Mbit/s, ");
        sb.Append(CultureInfo.InvariantCulture, $"out {c.PacketsOut - p.PacketsOut} pkts {c.BytesOut - p.BytesOut} B {Mbit(c.BytesOut - p.BytesOut, span):F2} Mbit/s, ");
        sb.Append(CultureInfo.InvariantCulture, $"queue-drop {c.QueueDrops - p.QueueDrops}, lost {c.Lost - p.Lost} (burst {c.LostBurst - p.LostBurst}), ");
        sb.Append(CultureInfo.InvariantCulture, $"dup {c.Duplicated - p.Duplicated}, corrupt {c.Corrupted - p.Corrupted}, reorder {c.Reordered - p.Reordered}, ");
        sb.Append(CultureInfo.InvariantCulture, $"overflow {c.Overflow - p.Overflow}, write-err {c.WriteErrors - p.WriteErrors}, ");
        sb.Append(CultureInfo.InvariantCulture, $"queue {c.QueueDepth} (max {c.MaxQueueDepth}), in-flight {c.InFlight}, ");
        sb.Append(CultureInfo.InvariantCulture, $"late p50<{c.LatenessQuantileMicros(0.5)} p99<{c.LatenessQuantileMicros(0.99)} max {c.MaxLatenessMicros} us");
        return sb.ToString();
    }

    private static string Json(string label, string dir, double elapsed, double span, DirectionCounters c, DirectionCounters p)
    {
        long unixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"event\":\"{label}\",\"dir\":\"{dir}\",\"unix_ms\":{unixMs},\"t\":{elapsed:F3},\"span\":{span:F3},"
            + $"\"packets_in\":{c.PacketsIn - p.PacketsIn},\"bytes_in\":{c.BytesIn - p.BytesIn},"
            + $"\"packets_out\":{c.PacketsOut - p.PacketsOut},\"bytes_out\":{c.BytesOut - p.BytesOut},"
            + $"\"out_mbps\":{Mbit(c.BytesOut - p.BytesOut, span):F3},"
            + $"\"queue_drops\":{c.QueueDrops - p.QueueDrops},\"queue_drop_bytes\":{c.QueueDropBytes - p.QueueDropBytes},"
            + $"\"lost\":{c.Lost - p.Lost},\"lost_bytes\":{c.LostBytes - p.LostBytes},\"lost_burst\":{c.LostBurst - p.LostBurst},"
            + $"\"duplicated\":{c.Duplicated - p.Duplicated},\"corrupted\":{c.Corrupted - p.Corrupted},\"reordered\":{c.Reordered - p.Reordered},"
            + $"\"overflow\":{c.Overflow - p.Overflow},\"write_errors\":{c.WriteErrors - p.WriteErrors},"
            + $"\"queue\":{c.QueueDepth},\"queue_max\":{c.MaxQueueDepth},\"in_flight\":{c.InFlight},"
            + $"\"late_p50_us\":{c.LatenessQuantileMicros(0.5)},\"late_p99_us\":{c.LatenessQuantileMicros(0.99)},\"late_max_us\":{c.MaxLatenessMicros}}}");
    }

    private static double Mbit(long bytes, double seconds) => seconds > 0 ? bytes * 8 / seconds / 1e6 : 0;
}
