using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ferry.Hosting;
using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Tcp;
using Ferry.Transfers;

// Two figures, both on 127.0.0.1 in one process (no process start-up in them):
// 1. one TLS 1.3 handshake as tcp:// does it (self-signed certificate on a P-256 server key, ECDHE), median of N;
// 2. a whole tcp:// GET of a 1-byte file with 1 stream (2 connections: control + data), encrypted vs --insecure,
//    median of N each: the difference is what encryption adds to a session's set-up.
int n = args.Length > 0 ? int.Parse(args[0]) : 300;
using var key = ServerKeyPair.Generate();

var request = new CertificateRequest("CN=ferry", key.Key, HashAlgorithmName.SHA256);
using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
using var cert = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);
var serverOptions = new SslServerAuthenticationOptions
{
    ServerCertificateContext = SslStreamCertificateContext.Create(cert, null, offline: true),
    EnabledSslProtocols = SslProtocols.Tls13,
    AllowTlsResume = false,
};
using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
listener.Listen(16);
var endPoint = (IPEndPoint)listener.LocalEndPoint!;

string suite = "";

async Task<double> OneHandshakeAsync()
{
    using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    await client.ConnectAsync(endPoint);
    using var accepted = await listener.AcceptAsync();
    var clock = Stopwatch.StartNew();
    await using var s = new SslStream(new NetworkStream(accepted));
    await using var c = new SslStream(new NetworkStream(client));
    var serverSide = s.AuthenticateAsServerAsync(serverOptions, default);
    await c.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
    {
        TargetHost = "127.0.0.1",
        EnabledSslProtocols = SslProtocols.Tls13,
        RemoteCertificateValidationCallback = (_, crt, _, _) =>
        {
            using var x = new X509Certificate2(crt!);
            return KeyFingerprint.Of(x.PublicKey.ExportSubjectPublicKeyInfo()) == key.Fingerprint;
        },
    });
    await serverSide;
    double ms = clock.Elapsed.TotalMilliseconds;
    suite = $"{c.SslProtocol} {c.NegotiatedCipherSuite}";
    return ms;
}

static double Median(List<double> xs)
{
    xs.Sort();
    return xs[xs.Count / 2];
}

for (int i = 0; i < 20; i++)
{
    await OneHandshakeAsync();
}

var hs = new List<double>();
for (int i = 0; i < n; i++)
{
    hs.Add(await OneHandshakeAsync());
}

Console.WriteLine($"TLS handshake ({suite}, P-256 certificate, both ends in one process): median {Median(hs):F2} ms, p90 {hs[(int)(hs.Count * 0.9)]:F2} ms over {n}");

string dir = Directory.CreateTempSubdirectory("ferry-hs-").FullName;
try
{
    Directory.CreateDirectory(Path.Combine(dir, "root"));
    File.WriteAllBytes(Path.Combine(dir, "root", "one.bin"), [42]);
    Environment.SetEnvironmentVariable("FERRY_CONFIG_DIR", Path.Combine(dir, "config"));
    var options = new ServerOptions
    {
        Root = Path.Combine(dir, "root"),
        StateDir = Path.Combine(dir, "state"),
        Bind = IPAddress.Loopback,
        TcpPort = 0,
        Identity = key,
        AllowInsecure = true,
    };
    await using var server = new TcpTransferListener(new ServerContext(options, TextWriter.Null), 0);
    using var stop = new CancellationTokenSource();
    var run = server.RunAsync(stop.Token);
    var url = new Uri($"tcp://127.0.0.1:{((IPEndPoint)server.LocalEndPoint).Port}/one.bin");
    var client = new TcpTransferClient();
    var progress = new Progress<TransferProgress>();

    async Task<double> GetAsync(bool insecure)
    {
        string dest = Path.Combine(dir, "dl.bin");
        File.Delete(dest);
        var clock = Stopwatch.StartNew();
        await client.GetAsync(url, dest, new ClientOptions { Streams = 1, Insecure = insecure }, progress, default);
        return clock.Elapsed.TotalMilliseconds;
    }

    for (int i = 0; i < 20; i++)
    {
        await GetAsync(false);
        await GetAsync(true);
    }

    var enc = new List<double>();
    var plain = new List<double>();
    for (int i = 0; i < n / 3; i++)
    {
        enc.Add(await GetAsync(false));
        plain.Add(await GetAsync(true));
    }

    Console.WriteLine($"tcp:// GET of 1 byte, 1 stream (2 connections): encrypted median {Median(enc):F2} ms, --insecure median {Median(plain):F2} ms over {n / 3} each");
    await stop.CancelAsync();
    await run;
}
finally
{
    Directory.Delete(dir, recursive: true);
}
