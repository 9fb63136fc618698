using System.Diagnostics;
using System.Globalization;
using NetMQ;
using NetMQ.Monitoring;
using NetMQ.Sockets;

// The NetMQ end of bench/netmq-interop.sh; bench/netmq_peer.py is the libzmq end, with the same arguments:
//   server PORT plain|curve            ROUTER on 127.0.0.1:PORT; prints "KEY <z85>|plain" once bound, answers every
//                                      request with READY, stops after a STOP request
//   client PORT plain|SERVERKEY N SIZE DEALER sending N requests [CHUNK, SIZE bytes], 16 in flight, then STOP; prints MB/s
//   events PORT SERVERKEY SECONDS      DEALER with that server key: prints the monitor events seen in SECONDS
string mode = args[0];
int port = Parse(args[1]);
string endpoint = $"tcp://127.0.0.1:{port}";
switch (mode)
{
    case "server":
        Serve(endpoint, args[2] == "curve");
        break;
    case "client":
        Send(endpoint, args[2], Parse(args[3]), Parse(args[4]));
        break;
    case "events":
        Watch(endpoint, args[2], TimeSpan.FromSeconds(Parse(args[3])));
        break;
    default:
        throw new ArgumentException($"unknown mode {mode}");
}

static int Parse(string s) => int.Parse(s, CultureInfo.InvariantCulture);

static void Serve(string endpoint, bool curve)
{
    using var router = new RouterSocket();
    router.Options.MaxMsgSize = 16 << 20;
    router.Options.ReceiveHighWatermark = 64;
    string key = "plain";
    if (curve)
    {
        var certificate = new NetMQCertificate();
        router.Options.CurveServer = true;
        router.Options.CurveCertificate = certificate;
        key = certificate.PublicKeyZ85;
    }

    router.Bind(endpoint);
    Console.WriteLine($"KEY {key}");
    long n = 0;
    var msg = new NetMQMessage();
    while (router.TryReceiveMultipartMessage(TimeSpan.FromSeconds(60), ref msg))
    {
        n++;
        byte[] routingId = msg[0].ToByteArray();
        bool stop = msg[1].ConvertToString() == "STOP";
        if (n == 1)
        {
            // All a NetMQ ROUTER knows about who sent a message: no ZAP, so no User-Id; no Peer-Address either.
            Console.WriteLine($"server: first request from routing id {Convert.ToHexString(routingId)}, User-Id n/a, Peer-Address n/a");
        }

        router.SendMoreFrame(routingId).SendFrame("READY");
        if (stop)
        {
            break;
        }
    }

    Console.WriteLine($"server: {n} requests");
}

static void Send(string endpoint, string serverKey, int count, int size)
{
    const int window = 16;
    using var dealer = new DealerSocket();
    if (serverKey != "plain")
    {
        dealer.Options.CurveCertificate = new NetMQCertificate();
        dealer.Options.CurveServerKey = NetMQCertificate.FromPublicKey(serverKey).PublicKey;
    }

    dealer.Connect(endpoint);
    var payload = new byte[size];
    Random.Shared.NextBytes(payload);
    var clock = Stopwatch.StartNew();
    int sent = 0;
    int answered = 0;
    while (answered < count)
    {
        for (; sent < count && sent - answered < window; sent++)
        {
            dealer.SendMoreFrame("CHUNK").SendFrame(payload);
        }

        if (!dealer.TryReceiveFrameString(TimeSpan.FromSeconds(30), out _))
        {
            Console.WriteLine($"client: no reply after {answered} replies");
            Environment.Exit(1);
        }

        answered++;
    }

    double seconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"client OK {count} x {size} B in {seconds:F2} s = {count * (double)size / seconds / 1e6:F0} MB/s");
    dealer.SendFrame("STOP");
    dealer.TryReceiveFrameString(TimeSpan.FromSeconds(5), out _);
}

static void Watch(string endpoint, string serverKey, TimeSpan duration)
{
    using var dealer = new DealerSocket();
    dealer.Options.CurveCertificate = new NetMQCertificate();
    dealer.Options.CurveServerKey = NetMQCertificate.FromPublicKey(serverKey).PublicKey;
    var seen = new SortedDictionary<string, int>(StringComparer.Ordinal);
    using var monitor = new NetMQMonitor(dealer, "inproc://netmq-interop-monitor", SocketEvents.All);
    monitor.EventReceived += (_, e) =>
    {
        lock (seen)
        {
            seen[e.SocketEvent.ToString()] = seen.GetValueOrDefault(e.SocketEvent.ToString()) + 1;
        }
    };
    var running = monitor.StartAsync();
    dealer.Connect(endpoint);
    bool replied = dealer.TrySendFrame(TimeSpan.FromSeconds(1), "STOP") && dealer.TryReceiveFrameString(duration, out _);
    monitor.Stop();
    running.Wait(TimeSpan.FromSeconds(5));
    lock (seen)
    {
        Console.WriteLine($"events in {duration.TotalSeconds:F0} s: {string.Join(", ", seen.Select(p => $"{p.Key} x{p.Value}"))}; reply: {(replied ? "yes" : "none")}");
    }
}
