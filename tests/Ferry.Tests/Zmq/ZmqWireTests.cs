using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ferry.Tests.Zmq;

/// <summary>What travels on the wire: a recording TCP relay between the Ferry client and the server.</summary>
public sealed class ZmqWireTests
{
    [ZmqCurveFact]
    public async Task Curve_hides_names_tokens_and_data_that_plain_sends_in_clear()
    {
        // The control run in plain proves the relay sees the bytes; the CURVE run must not show them.
        var plain = await CaptureAsync(curve: false);
        Assert.Contains("NULL", plain.Greeting, StringComparison.Ordinal);
        Assert.True(plain.Contains(plain.Name), "plain: the filename should be visible");
        Assert.True(plain.Contains(plain.Sample), "plain: the data should be visible");
        Assert.True(plain.Contains(plain.Token), "plain: the token should be visible");

        var curve = await CaptureAsync(curve: true);
        Assert.Contains("CURVE", curve.Greeting, StringComparison.Ordinal);
        Assert.True(curve.Bytes.Length > 1 << 20, "the upload went through the relay");
        Assert.False(curve.Contains(curve.Name), "CURVE: the filename leaked");
        Assert.False(curve.Contains(curve.Sample), "CURVE: the data leaked");
        Assert.False(curve.Contains(curve.Token), "CURVE: the token leaked");
    }

    private static async Task<Capture> CaptureAsync(bool curve)
    {
        string state = Directory.CreateTempSubdirectory("ferry-zmq-wire-").FullName;
        var store = new Ferry.Security.TokenStore(state);
        string token = store.Create("wire", read: false, write: true, pathPrefix: null, DateTimeOffset.UtcNow, lifetime: null);
        await using var server = new ZmqServerFixture(curve: curve, access: new Ferry.Security.AccessPolicy(store, requireToken: false));
        int serverPort = server.Url("x").Port;
        using var relay = new RecordingRelay(serverPort);
        string name = "secret-name-" + Guid.NewGuid().ToString("N");
        byte[] data = ZmqFrames.Bytes(1 << 21, curve ? 1 : 2);
        string src = Path.Combine(server.Root, "..", "wire.bin");
        await File.WriteAllBytesAsync(src, data);

        await ZmqCurveTests.Send(src, new Uri($"zmq://127.0.0.1:{relay.Port}/{name}"), server.ClientOptions(chunkSize: 256 << 10, token: token));
        Assert.Equal(data, await File.ReadAllBytesAsync(server.PathOf(name)));
        byte[] bytes = relay.ClientToServer();
        Directory.Delete(state, recursive: true);
        return new Capture(bytes, Encoding.ASCII.GetBytes(name), data.AsSpan(1 << 20, 64).ToArray(), Encoding.ASCII.GetBytes(token));
    }

    private sealed record Capture(byte[] Bytes, byte[] Name, byte[] Sample, byte[] Token)
    {
        /// <summary>The ZMTP greetings carry the mechanism name in clear.</summary>
        public string Greeting => Encoding.ASCII.GetString(Bytes.AsSpan(0, Math.Min(64, Bytes.Length)));

        public bool Contains(byte[] needle) => Bytes.AsSpan().IndexOf(needle) >= 0;
    }

    /// <summary>Accepts on 127.0.0.1 and forwards to the server, keeping every client-to-server byte (bounded).</summary>
    private sealed class RecordingRelay : IDisposable
    {
        private const int MaxRecorded = 64 << 20;
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly MemoryStream _recorded = new();
        private readonly CancellationTokenSource _cts = new();
        private readonly int _target;

        public RecordingRelay(int target)
        {
            _target = target;
            _listener.Start();
            _ = AcceptLoopAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public byte[] ClientToServer()
        {
            lock (_recorded)
            {
                return _recorded.ToArray();
            }
        }

        public void Dispose()
        {
            _cts.Cancel();
            _listener.Stop();
        }

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_cts.Token);
                    var upstream = new TcpClient();
                    await upstream.ConnectAsync(IPAddress.Loopback, _target, _cts.Token);
                    _ = PumpAsync(client, upstream, record: true);
                    _ = PumpAsync(upstream, client, record: false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task PumpAsync(TcpClient from, TcpClient to, bool record)
        {
            byte[] buffer = new byte[64 << 10];
            try
            {
                var input = from.GetStream();
                var output = to.GetStream();
                int n;
                while ((n = await input.ReadAsync(buffer, _cts.Token)) > 0)
                {
                    if (record)
                    {
                        lock (_recorded)
                        {
                            if (_recorded.Length + n <= MaxRecorded)
                            {
                                _recorded.Write(buffer, 0, n);
                            }
                        }
                    }

                    await output.WriteAsync(buffer.AsMemory(0, n), _cts.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
            finally
            {
                from.Dispose();
                to.Dispose();
            }
        }
    }
}
