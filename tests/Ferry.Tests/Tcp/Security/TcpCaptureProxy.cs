using System.Net;
using System.Net.Sockets;

namespace Ferry.Tests.Tcp.Security;

/// <summary>
/// A TCP relay on 127.0.0.1 between a client and a server that keeps every byte it forwards, per connection and
/// direction: what an eavesdropper on the path would see.
/// </summary>
internal sealed class TcpCaptureProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<MemoryStream> _captures = new();
    private readonly List<Task> _pumps = new();
    private readonly Task _accepting;

    public TcpCaptureProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = AcceptLoopAsync();
    }

    public int Port { get; }

    public int Connections
    {
        get
        {
            lock (_captures)
            {
                return _captures.Count / 2;
            }
        }
    }

    public Uri Url(string path) => new($"tcp://127.0.0.1:{Port}/{path}");

    /// <summary>True when <paramref name="needle"/> occurs in what any connection carried in either direction.</summary>
    public bool Saw(ReadOnlySpan<byte> needle)
    {
        lock (_captures)
        {
            foreach (var capture in _captures)
            {
                lock (capture)
                {
                    if (capture.GetBuffer().AsSpan(0, (int)capture.Length).IndexOf(needle) >= 0)
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>Total bytes forwarded.</summary>
    public long Bytes
    {
        get
        {
            lock (_captures)
            {
                return _captures.Sum(c => { lock (c) { return c.Length; } });
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        Task[] pumps;
        lock (_captures)
        {
            pumps = _pumps.ToArray();
        }

        await Task.WhenAll(pumps).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptAsync(_stop.Token);
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort), _stop.Token);
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            var up = new MemoryStream();
            var down = new MemoryStream();
            lock (_captures)
            {
                _captures.Add(up);
                _captures.Add(down);
                _pumps.Add(RelayAsync(client, server, up, down));
            }
        }
    }

    private async Task RelayAsync(Socket client, Socket server, MemoryStream up, MemoryStream down)
    {
        using (client)
        using (server)
        {
            var a = PumpAsync(client, server, up);
            var b = PumpAsync(server, client, down);
            await Task.WhenAny(a, b);

            // One side closed: close both, so neither end waits for the other through the proxy.
            client.Dispose();
            server.Dispose();
            await Task.WhenAll(a, b);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, MemoryStream capture)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    return;
                }

                lock (capture)
                {
                    capture.Write(buffer, 0, n);
                }

                int sent = 0;
                while (sent < n)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
