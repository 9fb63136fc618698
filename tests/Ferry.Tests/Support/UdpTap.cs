using System.Net;
using System.Net.Sockets;

namespace Ferry.Tests.Support;

/// <summary>
/// A UDP forwarder on 127.0.0.1 that records every datagram in both directions: a wire capture for tests that
/// check what an eavesdropper would see. One client at a time.
/// </summary>
internal sealed class UdpTap : IAsyncDisposable
{
    private readonly Socket _front = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _back = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly IPEndPoint _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _up;
    private readonly Task _down;
    private IPEndPoint? _client;

    public UdpTap(IPEndPoint server)
    {
        _server = server;
        _front.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _back.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _up = Task.Run(UpAsync);
        _down = Task.Run(DownAsync);
    }

    public int Port => ((IPEndPoint)_front.LocalEndPoint!).Port;

    /// <summary>Every datagram seen, in either direction.</summary>
    public List<byte[]> Captured { get; } = new();

    public bool AnyContains(ReadOnlySpan<byte> needle)
    {
        lock (Captured)
        {
            foreach (var d in Captured)
            {
                if (d.AsSpan().IndexOf(needle) >= 0)
                {
                    return true;
                }
            }

            return false;
        }
    }

    private async Task UpAsync()
    {
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var r = await _front.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
                _client = (IPEndPoint)r.RemoteEndPoint;
                lock (Captured)
                {
                    Captured.Add(buffer[..r.ReceivedBytes]);
                }

                await _back.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), SocketFlags.None, _server);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
            }
        }
    }

    private async Task DownAsync()
    {
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                int n = await _back.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                lock (Captured)
                {
                    Captured.Add(buffer[..n]);
                }

                if (_client is { } c)
                {
                    await _front.SendToAsync(buffer.AsMemory(0, n), SocketFlags.None, c);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_up, _down).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _front.Dispose();
        _back.Dispose();
    }
}
