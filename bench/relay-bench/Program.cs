using System.Diagnostics;
using System.Globalization;
using System.Net;
using Ferry.Hosting;
using Ferry.Protocol.Relay;
using Ferry.Relay;

// Relay load test: W writers x L lines and R readers on 127.0.0.1, server in this process (real UDP sockets, SQLite store).
// Usage: dotnet run -c Release --project bench/relay-bench -- [--writers 50] [--lines 2000] [--readers 50] [--rate 0] [--state DIR] [--insecure]
//   Encrypted (the secure envelope) unless --insecure.
//   --rate N: total offered lines per second across all writers (0: as fast as the writer windows allow).
//   --max-datagram N: the largest DELIVER readers ask for (default: the client's choice, 65,000 on loopback, capped by the
//   server at 16,384); 1200 measures what a reader on another host gets.
//   --warmup N: before the timed run, every writer posts N lines and every reader reads them (JIT and tiering settle, as in a
//   long-running server); not counted in any figure. Default 0: the timed run starts cold, as docs/PERFORMANCE.md's figures do.
var opts = ParseArgs(args);
int writers = opts.GetValueOrDefault("writers", 50);
int lines = opts.GetValueOrDefault("lines", 2000);
int readers = opts.GetValueOrDefault("readers", 50);
int rate = opts.GetValueOrDefault("rate", 0);
int? maxDatagram = opts.TryGetValue("max-datagram", out int md) ? md : null;
int warmup = opts.GetValueOrDefault("warmup", 0);
string state = args.SkipWhile(a => a != "--state").Skip(1).FirstOrDefault()
    ?? Path.Combine(Path.GetTempPath(), "ferry-relay-bench-" + Environment.ProcessId);
Directory.CreateDirectory(state);
File.Delete(Path.Combine(state, "relay.db"));

bool insecure = args.Contains("--insecure");

// As `ferry` does at start: OpenSSL's AES-GCM directly when it passes its self-test (FERRY_AEAD=managed: .NET's).
Console.Error.WriteLine($"AEAD: {(Ferry.Security.OpenSslAesGcm.TryInstall() ? "OpenSSL EVP (direct)" : "System.Security.Cryptography.AesGcm")}");
using var serverKey = Ferry.Protocol.Security.ServerKeyPair.Generate();
var serverOptions = new ServerOptions
{
    Root = Path.Combine(state, "root"), StateDir = state, Bind = IPAddress.Loopback, RelayPort = 0,
    Identity = insecure ? null : serverKey,
};
var listener = new RelayListener(new ServerContext(serverOptions, TextWriter.Null), 0);
using var stopServer = new CancellationTokenSource();
var serverTask = Task.Run(() => listener.RunAsync(stopServer.Token));
int port = ((IPEndPoint)listener.LocalEndPoint).Port;
using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));

var readerClients = new List<RelayChatClient>();
for (int i = 0; i < readers; i++)
{
    readerClients.Add(await RelayChatClient.ConnectAsync("127.0.0.1", port, new RelayChatOptions { User = $"reader{i}", Write = false, Insecure = insecure, ServerKey = serverKey.Fingerprint, MaxDatagram = maxDatagram }, timeout.Token));
}

var writerClients = new List<RelayChatClient>();
for (int i = 0; i < writers; i++)
{
    writerClients.Add(await RelayChatClient.ConnectAsync("127.0.0.1", port, new RelayChatOptions { User = $"writer{i}", Read = false, Insecure = insecure, ServerKey = serverKey.Fingerprint }, timeout.Token));
}

if (warmup > 0)
{
    await Task.WhenAll(writerClients.Select(async wc =>
    {
        for (int n = 0; n < warmup; n++)
        {
            await wc.PostAsync($"warmup {n} lorem ipsum dolor sit amet, consectetur adipiscing elit", timeout.Token);
        }

        await wc.FlushAsync(timeout.Token);
    }));
    await Task.WhenAll(readerClients.Select(r => Task.Run(async () =>
    {
        for (long k = 0; k < (long)warmup * writers; k++)
        {
            await r.ReadAsync(timeout.Token);
        }
    })));
}

long total = (long)writers * lines;
long firstSeq = (long)warmup * writers + 1;
Console.WriteLine($"relay bench: {writers} writers x {lines} lines, {readers} readers, offered {(rate > 0 ? rate + " lines/s" : "max")}, max DELIVER {readerClients[0].Info.MaxDeliverDatagram} bytes, warm-up {warmup} lines/writer, store {state}/relay.db");
var clock = Stopwatch.StartNew();

var readTasks = readerClients.Select(r => Task.Run(async () =>
{
    var latencies = new float[total];
    var nextPerWriter = new int[writers];
    long expectedSeq = -1;
    bool ok = true;
    for (long k = 0; k < total; k++)
    {
        var m = await r.ReadAsync(timeout.Token);
        long now = Stopwatch.GetTimestamp();
        if (m.Seq != (expectedSeq >= 0 ? expectedSeq : firstSeq))
        {
            ok = false;
        }

        expectedSeq = m.Seq + 1;

        // Text: "<writer> <n> <timestamp> padding"
        var text = m.Text.AsSpan();
        int a = text.IndexOf(' ');
        int b = a + 1 + text[(a + 1)..].IndexOf(' ');
        int c = b + 1 + text[(b + 1)..].IndexOf(' ');
        int w = int.Parse(text[..a], CultureInfo.InvariantCulture);
        int n = int.Parse(text[(a + 1)..b], CultureInfo.InvariantCulture);
        long sent = long.Parse(text[(b + 1)..c], CultureInfo.InvariantCulture);
        if (nextPerWriter[w] != n)
        {
            ok = false;
        }

        nextPerWriter[w] = n + 1;
        latencies[k] = (float)((now - sent) * 1000.0 / Stopwatch.Frequency);
    }

    return (Latencies: latencies, Ok: ok && nextPerWriter.All(x => x == lines), Done: clock.Elapsed);
})).ToList();

var start = clock.Elapsed;
var cpuAtStart = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
var writeTasks = writerClients.Select((wc, w) => Task.Run(async () =>
{
    double perWriterRate = rate > 0 ? (double)rate / writers : 0;
    for (int n = 0; n < lines; n++)
    {
        if (perWriterRate > 0)
        {
            var due = start + TimeSpan.FromSeconds(n / perWriterRate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, timeout.Token);
            }
        }

        await wc.PostAsync($"{w} {n} {Stopwatch.GetTimestamp()} lorem ipsum dolor sit amet", timeout.Token);
    }

    await wc.FlushAsync(timeout.Token);
    return clock.Elapsed;
})).ToList();

var writeDone = await Task.WhenAll(writeTasks);
var results = await Task.WhenAll(readTasks);

// CPU up to the last delivery, before the latency sort below (sorting 5M samples took ~0.5 s and used to be counted).
var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart;
var elapsed = results.Max(r => r.Done) - start;
var all = results.SelectMany(r => r.Latencies).ToArray();
Array.Sort(all);
double P(double q) => all[Math.Min(all.Length - 1, (int)(q * all.Length))];
double seconds = elapsed.TotalSeconds;
// Definitions (docs/PERFORMANCE.md, "Message relay"): end to end = from the first post to the moment the last reader printed
// the last line. Distinct lines/s = lines / that time (each line counted once, however many readers got it). Reader
// deliveries/s = lines x readers / that time (each line counted once per reader that got it).
Console.WriteLine($"stored+acked      {total} lines in {(writeDone.Max() - start).TotalSeconds:F2} s ({total / (writeDone.Max() - start).TotalSeconds:F0} lines/s)");
Console.WriteLine($"end to end        {seconds:F2} s: {total / seconds:F0} distinct lines/s, {total * readers / seconds:F0} reader deliveries/s");
Console.WriteLine($"process CPU       {cpu.TotalSeconds:F2} s (server and all {readers + writers} clients): {cpu.TotalMicroseconds / (total * readers):F2} us per delivery");
Console.WriteLine($"latency (ms)      p50 {P(0.50):F1}  p90 {P(0.90):F1}  p99 {P(0.99):F1}  max {all[^1]:F1}");
Console.WriteLine($"exactly once      {(results.All(r => r.Ok) ? "yes" : "NO")}: every reader got seqs {firstSeq}..{firstSeq + total - 1} once, in order, every writer's lines in order");
var s = listener.Stats;
Console.WriteLine($"server            {s.DatagramsReceived} datagrams in, {s.DeliverDatagrams} DELIVERs, {s.MessagesRetransmitted} messages resent, {s.DuplicateLines} duplicate lines, {s.HistoryReads} history reads");

foreach (var c in readerClients.Concat(writerClients))
{
    await c.DisposeAsync();
}

stopServer.Cancel();
try
{
    await serverTask;
}
catch (OperationCanceledException)
{
}

await listener.DisposeAsync();
Directory.Delete(state, recursive: true);
return results.All(r => r.Ok) ? 0 : 1;

static Dictionary<string, int> ParseArgs(string[] args)
{
    var d = new Dictionary<string, int>();
    for (int i = 0; i + 1 < args.Length; i++)
    {
        if (args[i].StartsWith("--", StringComparison.Ordinal) && int.TryParse(args[i + 1], out int v))
        {
            d[args[i][2..]] = v;
        }
    }

    return d;
}
