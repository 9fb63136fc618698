using System.Diagnostics;
using System.Security.Cryptography;
using Ferry.Files;

// Measures the file engine's receive path (PartialFile: coalesced positional writes + incremental SHA-256 +
// commit) and send path (HashingFileSource: read-ahead + hash) on a directory (default /dev/shm).
// Usage: FileEngineBench [dir] [sizeMiB] [chunkBytes]
//        FileEngineBench small [dir] [files=2000] [dirs=20] [writers=1,8,32,a8,a32] [checkpoint]: many small uploads (SmallFiles.cs)
if (args.Length > 0 && args[0] == "small")
{
    SmallFiles.Run(
        args.Length > 1 ? args[1] : "/var/tmp",
        args.Length > 2 ? int.Parse(args[2]) : 2000,
        args.Length > 3 ? int.Parse(args[3]) : 20,
        (args.Length > 4 ? args[4] : "1,8,32,a8,a32").Split(','),
        args.Length > 5 && args[5] == "checkpoint");
    return;
}

string dir = args.Length > 0 ? args[0] : "/dev/shm";
long size = (args.Length > 1 ? long.Parse(args[1]) : 1024) << 20;
int chunk = args.Length > 2 ? int.Parse(args[2]) : 1400;
string work = Path.Combine(dir, "ferry-bench-" + Environment.ProcessId);
Directory.CreateDirectory(work);
try
{
    // A 4 MiB random pattern repeated: realistic for the hash, cheap to generate.
    var pattern = new byte[4 << 20];
    new Random(1).NextBytes(pattern);
    byte[] expected;
    using (var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
    {
        for (long off = 0; off < size; off += pattern.Length)
        {
            h.AppendData(pattern, 0, (int)Math.Min(pattern.Length, size - off));
        }

        expected = h.GetHashAndReset();
    }

    Measure("receive in order", size, () => ReceiveInOrder(work, size, chunk, pattern, expected));
    Measure("receive, 2% reordered", size, () => ReceiveReordered(work, size, chunk, pattern, expected));
    Measure("send (HashingFileSource)", size, () => Send(Path.Combine(work, "inorder.bin"), size, chunk, expected));
    Measure("SHA-256 alone (reference)", size, () => HashOnly(size, pattern));
}
finally
{
    Directory.Delete(work, recursive: true);
}

// Wall-clock rate, plus the rate per CPU-second of this process: on a shared, loaded machine the second
// one says what the code would do with a core to itself.
static void Measure(string what, long size, Func<TimeSpan> run)
{
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var t = run();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
    Console.WriteLine($"{what,-28} {size / t.TotalSeconds / 1e9:F2} GB/s wall, {size / cpu.TotalSeconds / 1e9:F2} GB per CPU-second ({size >> 20} MiB, {t.TotalSeconds:F2} s wall, {cpu.TotalSeconds:F2} s CPU)");
}

static ReadOnlySpan<byte> Slice(byte[] pattern, long off, int len)
{
    int p = (int)(off % pattern.Length);
    return pattern.AsSpan(p, Math.Min(len, pattern.Length - p));
}

static TimeSpan ReceiveInOrder(string work, long size, int chunk, byte[] pattern, byte[] expected)
{
    var sw = Stopwatch.StartNew();
    using var pf = PartialFile.ForDownload(Path.Combine(work, "inorder.bin"), size, new FileIdentity(size, 1), overwrite: true);
    for (long off = 0; off < size;)
    {
        var s = Slice(pattern, off, (int)Math.Min(chunk, size - off));
        pf.Write(off, s);
        off += s.Length;
    }

    pf.Commit(expected);
    return sw.Elapsed;
}

static TimeSpan ReceiveReordered(string work, long size, int chunk, byte[] pattern, byte[] expected)
{
    var rng = new Random(2);
    var sw = Stopwatch.StartNew();
    using var pf = PartialFile.ForDownload(Path.Combine(work, "reordered.bin"), size, new FileIdentity(size, 1), overwrite: true);
    var delayed = new Queue<(long Off, int Len, long Due)>();
    long n = 0;
    for (long off = 0; off < size;)
    {
        int len = Math.Min(chunk, (int)Math.Min(size - off, pattern.Length - (off % pattern.Length)));
        if (rng.Next(50) == 0)
        {
            delayed.Enqueue((off, len, n + 64)); // arrives 64 datagrams late, like a retransmission
        }
        else
        {
            pf.Write(off, Slice(pattern, off, len));
        }

        off += len;
        n++;
        while (delayed.Count > 0 && delayed.Peek().Due <= n)
        {
            var d = delayed.Dequeue();
            pf.Write(d.Off, Slice(pattern, d.Off, d.Len));
        }
    }

    while (delayed.Count > 0)
    {
        var d = delayed.Dequeue();
        pf.Write(d.Off, Slice(pattern, d.Off, d.Len));
    }

    pf.Commit(expected);
    return sw.Elapsed;
}

static TimeSpan Send(string path, long size, int chunk, byte[] expected)
{
    var sw = Stopwatch.StartNew();
    using var handle = File.OpenHandle(path);
    using var src = new HashingFileSource(handle, size);
    var buf = new byte[chunk];
    for (long off = 0; off < size;)
    {
        off += src.Read(off, buf);
    }

    if (!src.CompleteHash().AsSpan().SequenceEqual(expected))
    {
        throw new InvalidOperationException("hash mismatch");
    }

    return sw.Elapsed;
}

static TimeSpan HashOnly(long size, byte[] pattern)
{
    var sw = Stopwatch.StartNew();
    using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    for (long off = 0; off < size; off += pattern.Length)
    {
        h.AppendData(pattern, 0, (int)Math.Min(pattern.Length, size - off));
    }

    h.GetHashAndReset();
    return sw.Elapsed;
}
