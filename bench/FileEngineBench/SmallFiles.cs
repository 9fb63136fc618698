using System.Diagnostics;
using System.Security.Cryptography;
using Ferry.Files;

/// <summary>
/// Many small uploads through the file engine, as a server receiving a tree does: BeginUpload, writes of one
/// datagram's payload each, Commit (verify, durable, no-replace rename, directory sync), with several writers at once.
/// </summary>
internal static class SmallFiles
{
    /// <summary>
    /// <paramref name="writerCounts"/>: "8" is 8 threads each uploading one file after the other; "a8" is one thread
    /// (a receive loop) with up to 8 files committing at once through CommitAsync. Files go in walk order: directory
    /// after directory, as a tree is sent.
    /// </summary>
    public static void Run(string dir, int files, int dirs, string[] writerCounts, bool checkpoint)
    {
        var rng = new Random(3);
        var data = new byte[files][];
        var hashes = new byte[files][];
        for (int i = 0; i < files; i++)
        {
            data[i] = new byte[rng.Next(8 << 10, (24 << 10) + 1)];
            rng.NextBytes(data[i]);
            hashes[i] = SHA256.HashData(data[i]);
        }

        long bytes = data.Sum(d => (long)d.Length);
        foreach (string spec in writerCounts)
        {
            bool loop = spec.StartsWith('a');
            int writers = int.Parse(loop ? spec[1..] : spec);
            string work = Path.Combine(dir, $"ferry-smallbench-{Environment.ProcessId}-{writers}");
            var engine = new FileEngine(new FileEngineOptions { Root = Path.Combine(work, "root"), StateDir = Path.Combine(work, "state") });
            for (int d = 0; d < dirs; d++)
            {
                Directory.CreateDirectory(Path.Combine(work, "root", $"d{d:D3}"));
            }

            NativeSync();
            int next = -1;
            int failed = 0;
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            int perDir = (files + dirs - 1) / dirs;
            string PathOf(int i) => $"d{i / perDir:D3}/f{i:D6}.bin";
            var threads = new Thread[loop ? 1 : writers];
            if (loop)
            {
                threads[0] = new Thread(() => failed = UploadFromLoop(engine, files, writers, PathOf, data, hashes));
                threads[0].Start();
            }

            for (int w = 0; w < threads.Length && !loop; w++)
            {
                threads[w] = new Thread(() =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < files)
                    {
                        try
                        {
                            Upload(engine, PathOf(i), data[i], hashes[i], checkpoint);
                        }
                        catch (FileEngineException e)
                        {
                            Console.Error.WriteLine(e.Message);
                            Interlocked.Increment(ref failed);
                        }
                    }
                });
                threads[w].Start();
            }

            foreach (var t in threads)
            {
                t.Join();
            }

            var wall = sw.Elapsed;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            Console.WriteLine(
                $"small files  writers {spec,3}  {files / wall.TotalSeconds,8:F0} files/s  {bytes / wall.TotalSeconds / 1e6,6:F1} MB/s  "
                + $"{wall.TotalSeconds:F2} s wall  {cpu.TotalSeconds:F2} s CPU  ({files} files, {bytes >> 10} KiB, {dirs} dirs{(checkpoint ? ", one checkpoint each" : string.Empty)}{(failed > 0 ? $", {failed} FAILED" : string.Empty)})");
            Directory.Delete(work, recursive: true);
        }
    }

    private static void Upload(FileEngine engine, string path, byte[] content, byte[] sha256, bool checkpoint)
    {
        using var up = engine.BeginUpload(path, content.Length, new FileIdentity(content.Length, 1), "bench");
        for (int off = 0; off < content.Length; off += 1400)
        {
            up.File.Write(off, content.AsSpan(off, Math.Min(1400, content.Length - off)));
            if (checkpoint && off == 0)
            {
                up.File.Checkpoint();
            }
        }

        up.File.Commit(sha256);
    }

    private static int UploadFromLoop(FileEngine engine, int files, int inFlight, Func<int, string> pathOf, byte[][] data, byte[][] hashes)
    {
        int failed = 0;
        var pending = new List<(IncomingFile Up, Task Commit)>();
        void Reap(bool all)
        {
            while (pending.Count > 0 && (all || pending.Count >= inFlight))
            {
                int k = Task.WaitAny(pending.ConvertAll(p => p.Commit).ToArray());
                if (pending[k].Commit.IsFaulted)
                {
                    Console.Error.WriteLine(pending[k].Commit.Exception!.InnerException!.Message);
                    failed++;
                }

                pending[k].Up.Dispose();
                pending.RemoveAt(k);
            }
        }

        for (int i = 0; i < files; i++)
        {
            Reap(all: false);
            var up = engine.BeginUpload(pathOf(i), data[i].Length, new FileIdentity(data[i].Length, 1), "bench");
            for (int off = 0; off < data[i].Length; off += 1400)
            {
                up.File.Write(off, data[i].AsSpan(off, Math.Min(1400, data[i].Length - off)));
            }

            pending.Add((up, up.File.CommitAsync(hashes[i])));
        }

        Reap(all: true);
        return failed;
    }

    // Earlier runs' dirty pages must not be flushed on this run's clock.
    private static void NativeSync() => Process.Start("sync")!.WaitForExit();
}
