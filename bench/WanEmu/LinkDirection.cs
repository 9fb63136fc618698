using System.Runtime.InteropServices;

namespace Ferry.Bench.WanEmu;

/// <summary>
/// One direction of the link: reads IP packets from one TUN descriptor, decides their fate (duplicate, queue,
/// lose, corrupt, reorder) and writes the survivors to the other TUN descriptor at their delivery time.
/// </summary>
/// <remarks>
/// One dedicated thread and no locks: the thread alternates between delivering what is due and draining what
/// arrived, and sleeps in ppoll(2) on its input until the next delivery time (timer slack set to 1 ns, so the
/// kernel fires the timer as precisely as the scheduler allows). Delivery times are fixed on arrival
/// (<see cref="DropTailBottleneck"/>), so a late wake-up adds jitter to a packet but never changes the link rate.
/// Packets that are not reordered leave in arrival order, so they sit in a FIFO; only reordered ones need a heap.
/// </remarks>
internal sealed class LinkDirection
{
    private const int Batch = 64;
    private const long MaxSleepNanos = 50_000_000; // wakes this often to notice a stop request

    private readonly int _inFd;
    private readonly int _outFd;
    private readonly LinkConfig _config;
    private readonly Xoshiro256 _rng;
    private readonly DropTailBottleneck _bottleneck;
    private readonly Queue<ScheduledPacket> _inOrder = new();
    private readonly PriorityQueue<ScheduledPacket, long> _heldBack = new();
    private readonly Stack<byte[]> _pool = new();
    private readonly int _bufferSize;
    private readonly int _maxInFlight;
    private readonly byte[] _scratch;
    private bool _burstBad;
    private readonly int _realtimePriority;
    private volatile bool _stop;
    private Thread? _thread;

    public LinkDirection(string name, int inFd, int outFd, LinkConfig config, ulong seed, int mtu, int maxInFlight, int realtimePriority)
    {
        _realtimePriority = realtimePriority;
        Name = name;
        _inFd = inFd;
        _outFd = outFd;
        _config = config;
        _rng = new Xoshiro256(seed);
        _bottleneck = new DropTailBottleneck(config.RateBitsPerSecond, config.QueuePackets);
        _bufferSize = Math.Max(2048, mtu + 64);
        _maxInFlight = maxInFlight;
        _scratch = new byte[_bufferSize];
    }

    public string Name { get; }

    public LinkConfig Config => _config;

    public DirectionCounters Counters { get; } = new();

    /// <summary>Set when the thread died of an I/O error (the emulator then exits).</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Raised on the direction's thread when it fails.</summary>
    public event Action? Failed;

    public void Start()
    {
        _thread = new Thread(Run) { Name = "wanemu " + Name, IsBackground = true };
        _thread.Start();
    }

    public void Stop()
    {
        _stop = true;
        _thread?.Join();
    }

    private void Run()
    {
        try
        {
            Loop();
        }
        catch (IOException e)
        {
            Failure = e;
            Failed?.Invoke();
        }
    }

    private unsafe void Loop()
    {
        // Timer slack is per thread: without this, ppoll may wake up to 50 µs late on purpose.
        _ = Native.Prctl(Native.PrSetTimerSlack, 1, 0, 0, 0);
        if (_realtimePriority > 0)
        {
            // On a machine where every core is busy, a normal thread can wait tens of ms for a CPU after its timer
            // fires, which would add that much jitter to the link. SCHED_FIFO makes it run first; it only uses
            // CPU when packets move, so it cannot starve anyone on an idle link.
            int prio = _realtimePriority;
            if (Native.SchedSetScheduler(0, Native.SchedFifo, &prio) != 0)
            {
                Console.Error.WriteLine($"{Name}: SCHED_FIFO {prio} refused (errno {Marshal.GetLastPInvokeError()}); running at normal priority");
            }
        }
        var pfd = new Native.PollFd { Fd = _inFd, Events = Native.PollIn };
        while (!_stop)
        {
            int delivered = Deliver();
            int read = ReadBatch();
            if (read > 0 || delivered == Batch)
            {
                continue;
            }

            long next = NextDue();
            long wait = next == long.MaxValue ? MaxSleepNanos : Math.Min(MaxSleepNanos, next - Clock.NowNanos());
            if (wait <= 0)
            {
                continue;
            }

            var ts = new Native.TimeSpec { Seconds = wait / 1_000_000_000, Nanoseconds = wait % 1_000_000_000 };
            pfd.Revents = 0;
            _ = Native.PPoll(&pfd, 1, &ts, null);
        }
    }

    private long NextDue()
    {
        long next = long.MaxValue;
        if (_inOrder.TryPeek(out var a))
        {
            next = a.Due;
        }

        if (_heldBack.TryPeek(out var b, out _) && b.Due < next)
        {
            next = b.Due;
        }

        return next;
    }

    private unsafe int Deliver()
    {
        var c = Counters;
        int n = 0;
        while (n < Batch)
        {
            long now = Clock.NowNanos();
            ScheduledPacket p;
            bool fromHeap = _heldBack.TryPeek(out var h, out _) && h.Due <= now
                && (!_inOrder.TryPeek(out var f) || h.Due <= f.Due);
            if (fromHeap)
            {
                p = _heldBack.Dequeue();
            }
            else if (_inOrder.TryPeek(out var head) && head.Due <= now)
            {
                p = _inOrder.Dequeue();
            }
            else
            {
                break;
            }

            nint w;
            fixed (byte* b = p.Buffer)
            {
                w = Native.Write(_outFd, b, (nuint)p.Length);
            }

            if (w < 0)
            {
                c.WriteErrors++;
            }
            else
            {
                c.PacketsOut++;
                c.BytesOut += p.Length;
            }

            c.RecordLateness(now - p.Due);
            c.InFlight--;
            _pool.Push(p.Buffer);
            n++;
        }

        return n;
    }

    private unsafe int ReadBatch()
    {
        var c = Counters;
        int n = 0;
        while (n < Batch)
        {
            bool full = c.InFlight >= _maxInFlight;
            byte[] buf = full ? _scratch : Rent();
            nint r;
            fixed (byte* b = buf)
            {
                r = Native.Read(_inFd, b, (nuint)buf.Length);
            }

            if (r <= 0)
            {
                if (!full)
                {
                    _pool.Push(buf);
                }

                int errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
                if (r < 0 && errno != Native.EAgain && errno != Native.EIntr)
                {
                    throw new IOException($"{Name}: read from TUN failed, errno {errno}");
                }

                break;
            }

            n++;
            c.PacketsIn++;
            c.BytesIn += r;
            if (full || r == buf.Length)
            {
                // Out of emulator memory budget, or a packet larger than the buffer (MTU raised behind our back).
                c.Overflow++;
                if (!full)
                {
                    _pool.Push(buf);
                }

                continue;
            }

            Arrive(buf, (int)r, Clock.NowNanos());
        }

        return n;
    }

    private void Arrive(byte[] buf, int length, long now)
    {
        if (_rng.Chance(_config.Duplicate) && Counters.InFlight + 1 < _maxInFlight)
        {
            Counters.Duplicated++;
            byte[] copy = Rent();
            Buffer.BlockCopy(buf, 0, copy, 0, length);
            Enter(buf, length, now);
            Enter(copy, length, now);
        }
        else
        {
            Enter(buf, length, now);
        }
    }

    private void Enter(byte[] buf, int length, long now)
    {
        var c = Counters;
        if (_config.LossBeforeQueue && IsLost(length))
        {
            _pool.Push(buf);
            return;
        }

        if (!_bottleneck.TryAdmit(now, length, out long departure))
        {
            c.QueueDrops++;
            c.QueueDropBytes += length;
            _pool.Push(buf);
            return;
        }

        c.QueueDepth = _bottleneck.Depth;
        if (c.QueueDepth > c.MaxQueueDepth)
        {
            c.MaxQueueDepth = c.QueueDepth;
        }

        if (!_config.LossBeforeQueue && IsLost(length))
        {
            _pool.Push(buf);
            return;
        }

        if (_rng.Chance(_config.Corrupt))
        {
            c.Corrupted++;
            Corrupt(buf, length);
        }

        long due = departure + _config.DelayNanos;
        c.InFlight++;
        if (_rng.Chance(_config.Reorder))
        {
            c.Reordered++;
            due += _config.ReorderDelayNanos;
            _heldBack.Enqueue(new ScheduledPacket(buf, length, due), due);
        }
        else
        {
            _inOrder.Enqueue(new ScheduledPacket(buf, length, due));
        }
    }

    private bool IsLost(int length)
    {
        var c = Counters;
        if (_config.Burst is { } ge)
        {
            bool lost = _rng.Chance(_burstBad ? ge.LossInBad : ge.LossInGood);
            _burstBad = _burstBad ? !_rng.Chance(ge.BadToGood) : _rng.Chance(ge.GoodToBad);
            if (lost)
            {
                c.Lost++;
                c.LostBurst++;
                c.LostBytes += length;
                return true;
            }
        }

        if (_rng.Chance(_config.Loss))
        {
            c.Lost++;
            c.LostBytes += length;
            return true;
        }

        return false;
    }

    /// <summary>Flips one random bit after the IP header (the header checksum would otherwise make the receiving
    /// kernel drop it before anything interesting sees it); the transport checksum may still catch it.</summary>
    private void Corrupt(byte[] buf, int length)
    {
        int header = (buf[0] >> 4) switch
        {
            4 => (buf[0] & 0x0F) * 4,
            6 => 40,
            _ => 0,
        };
        int from = header < length ? header : 0;
        int at = from + _rng.Next(length - from);
        buf[at] ^= (byte)(1 << _rng.Next(8));
    }

    private byte[] Rent() => _pool.TryPop(out var b) ? b : new byte[_bufferSize];
}
