using System.Diagnostics;
using System.Security.Cryptography;

// The cost of SHA-256 alone (IncrementalHash, the API ferry uses; OpenSSL underneath on Linux) over SIZE MiB of
// memory in CHUNK-sized appends: the floor under any transfer that hashes on both sides.
int sizeMiB = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1024;
int[] chunks = [64 << 10, 256 << 10, 1 << 20];
var buffer = new byte[1 << 20];
Random.Shared.NextBytes(buffer);
long total = (long)sizeMiB << 20;
using var process = Process.GetCurrentProcess();
foreach (int chunk in chunks)
{
    for (int run = 1; run <= 2; run++)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (long done = 0; done < total; done += chunk)
        {
            hash.AppendData(buffer, 0, chunk);
        }

        hash.GetHashAndReset();
        double wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        Console.WriteLine($"chunk {chunk >> 10,5} KiB run {run}: {sizeMiB} MiB in {wall:F3} s wall, {cpu:F3} s CPU = {total * 8 / cpu / 1e9:F2} Gbit/s per core");
    }
}
