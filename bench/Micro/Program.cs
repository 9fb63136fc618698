using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Ferry.Protocol.Common;
using Ferry.Protocol.Security;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

// The per-datagram hot paths of udp://, one benchmark class each. Run: dotnet run -c Release --project bench/Micro -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Crc32CBench).Assembly).Run(args);

/// <summary>CRC-32C of one full datagram (every packet is sealed and checked with it).</summary>
[MemoryDiagnoser]
public class Crc32CBench
{
    private readonly byte[] _datagram = new byte[1452];

    [GlobalSetup]
    public void Setup() => new Random(1).NextBytes(_datagram);

    [Benchmark]
    public uint Datagram() => Crc32C.Compute(_datagram);
}

/// <summary>Writing and reading back an ACK with 8 ranges, and a DATA frame header.</summary>
[MemoryDiagnoser]
public class FrameCodecBench
{
    private readonly byte[] _buffer = new byte[256];
    private readonly AckRange[] _ranges = new AckRange[8];
    private readonly AckRange[] _scratch = new AckRange[32];

    [GlobalSetup]
    public void Setup()
    {
        ulong top = 1_000_000;
        for (int i = 0; i < _ranges.Length; i++)
        {
            _ranges[i] = new AckRange(top - 20, top);
            top -= 40;
        }
    }

    [Benchmark]
    public int AckRoundTrip()
    {
        var w = new SpanWriter(_buffer);
        FrameCodec.TryWriteAck(ref w, _ranges, 250);
        var r = new SpanReader(_buffer.AsSpan(0, w.Position));
        FrameCodec.TryRead(ref r, _scratch, out _);
        return w.Position;
    }

    [Benchmark]
    public int DataHeader()
    {
        var w = new SpanWriter(_buffer);
        FrameCodec.WriteDataHeader(ref w, 123_456_789_012, 1400);
        return w.Position;
    }
}

/// <summary>The receiver's range set: 1,000 datagrams arriving in order, and with every fourth one late (reordering).</summary>
[MemoryDiagnoser]
public class RangeSetBench
{
    [Benchmark]
    public long InOrder()
    {
        var set = new RangeSet();
        for (long i = 0; i < 1000; i++)
        {
            set.Add(i * 1400, (i + 1) * 1400);
        }

        return set.TotalLength;
    }

    [Benchmark]
    public long Reordered()
    {
        var set = new RangeSet();
        for (long i = 0; i < 1000; i++)
        {
            long n = i % 4 == 0 ? i + 2 : i % 4 == 2 ? i - 2 : i;
            set.Add(n * 1400, (n + 1) * 1400);
        }

        return set.TotalLength;
    }
}

/// <summary>AES-256-GCM sealing and opening of one full datagram (.NET's AesGcm).</summary>
[MemoryDiagnoser]
public class PacketProtectorBench : IDisposable
{
    private readonly byte[] _header = new byte[20];
    private readonly byte[] _payload = new byte[1452 - 20 - PacketProtector.TagSize];
    private readonly byte[] _tag = new byte[PacketProtector.TagSize];
    private PacketProtector _protector = null!;
    private ulong _pn;

    [GlobalSetup]
    public void Setup()
    {
        var secret = new byte[32];
        new Random(2).NextBytes(secret);
        _protector = new PacketProtector(secret);
    }

    [GlobalCleanup]
    public void Dispose() => _protector.Dispose();

    [Benchmark]
    public void Seal() => _protector.Seal(++_pn, _header, _payload, _tag);

    [Benchmark]
    public bool SealAndOpen()
    {
        ulong pn = ++_pn;
        _protector.Seal(pn, _header, _payload, _tag);
        return _protector.TryOpen(pn, _header, _payload, _tag);
    }
}

/// <summary>The sender's ledger: 1,024 packets recorded, acknowledged and trimmed from the front, as a window slides.</summary>
[MemoryDiagnoser]
public class SentPacketLedgerBench
{
    private readonly SentPacketLedger _ledger = new();
    private ulong _next;

    [Benchmark(OperationsPerInvoke = 1024)]
    public int SlideWindow()
    {
        for (int i = 0; i < 1024; i++)
        {
            ulong pn = _next++;
            _ledger.Add(new SentPacket { Number = pn, TimeSent = (long)pn, Size = 1452, AckEliciting = true, DataOffset = (long)pn * 1400, DataLength = 1400 });
            if (pn >= 64)
            {
                ref var old = ref _ledger[pn - 64];
                old.State = SentPacketState.Acknowledged;
                _ledger.TrimFront();
            }
        }

        return _ledger.Count;
    }
}
