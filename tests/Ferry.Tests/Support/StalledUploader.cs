using System.Net;
using System.Net.Sockets;
using Ferry.Protocol.Udp;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Tests.Support;

/// <summary>
/// A raw protocol client that opens an upload, waits for ACCEPT, then goes silent without closing:
/// what a client killed with SIGKILL looks like to the server.
/// </summary>
internal sealed class StalledUploader : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Connection _connection;
    private readonly IPEndPoint _server;

    public StalledUploader(IPEndPoint server, string path, long size)
    {
        _server = server;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        // No early data: this client sends nothing but its REQUEST, ever.
        _connection = Connection.CreateClient(new ConnectionConfig { EarlyData = false }, 0x5EED, TransferOp.Put, path, size, 1, new NeverSource(), Now);
    }

    private static long Now => Environment.TickCount64 * 1000;

    public async Task WaitAcceptedAsync(TimeSpan limit)
    {
        var buffer = new byte[65536];
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            int n;
            while ((n = _connection.PollTransmit(Now, buffer)) > 0)
            {
                _socket.SendTo(buffer.AsSpan(0, n), SocketFlags.None, _server);
            }

            if (_socket.Poll(20_000, SelectMode.SelectRead))
            {
                n = _socket.Receive(buffer);
                if (Packet.TryParse(buffer.AsSpan(0, n), out var p) == PacketError.None)
                {
                    _connection.HandlePacket(Now, p);
                }
            }

            while (_connection.TryPollEvent(out var ev))
            {
                if (ev.Kind == ConnectionEventKind.ServerKeyReceived)
                {
                    _connection.ConfirmServerKey();
                }

                if (ev.Kind == ConnectionEventKind.Accepted)
                {
                    return;
                }

                if (ev.Kind == ConnectionEventKind.Closed)
                {
                    throw new InvalidOperationException($"stalled uploader was refused: {ev.Code} {ev.Message}");
                }
            }

            await Task.Yield();
        }

        throw new TimeoutException("no ACCEPT");
    }

    public void Dispose() => _socket.Dispose();

    private sealed class NeverSource : IDataSource
    {
        public bool TryRead(long offset, Span<byte> destination, out TransferError error, out string message) =>
            throw new InvalidOperationException("the stalled uploader never sends data");

        public bool TryCompleteHash(out byte[] sha256, out TransferError error, out string message) =>
            throw new InvalidOperationException("the stalled uploader never finishes");
    }
}
