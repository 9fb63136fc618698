using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ferry.Protocol.Tcp;

namespace Ferry.Tests.Tcp;

/// <summary>A hand-driven socket to the listener, for sending what no well-behaved client would.</summary>
internal sealed class RawTcpPeer : IDisposable
{
    private readonly Socket _socket;

    private RawTcpPeer(Socket socket)
    {
        _socket = socket;
    }

    public static async Task<RawTcpPeer> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return new RawTcpPeer(socket);
    }

    public static byte[] Preamble(TcpConnectionKind kind)
    {
        var b = new byte[TcpWire.PreambleLength];
        TcpPreamble.Write(b, kind);
        return b;
    }

    public static byte[] Header(TcpFrameType type, uint length)
    {
        var b = new byte[5];
        b[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(1), length);
        return b;
    }

    public async Task SendAsync(params byte[][] parts)
    {
        foreach (var p in parts)
        {
            await _socket.SendAsync(p, SocketFlags.None);
        }
    }

    /// <summary>Sends what it can; a peer that already closed is fine (that is often the point).</summary>
    public async Task<bool> TrySendAsync(byte[] data)
    {
        try
        {
            await _socket.SendAsync(data, SocketFlags.None);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Reads everything until the server closes (or resets); fails if that takes longer than <paramref name="bound"/>.</summary>
    public async Task<byte[]> ReadUntilClosedAsync(TimeSpan bound)
    {
        using var cts = new CancellationTokenSource(bound);
        var all = new MemoryStream();
        var buf = new byte[4096];
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(buf, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return all.ToArray();
                }

                all.Write(buf, 0, n);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return all.ToArray();
        }
    }

    /// <summary>Reads one whole frame from the server (header checked as a client would).</summary>
    public async Task<(TcpFrameType Type, byte[] Payload)> ReadFrameAsync(TimeSpan bound)
    {
        using var cts = new CancellationTokenSource(bound);
        var header = new byte[5];
        await ReadExactlyAsync(header, cts.Token);
        var kind = header[0] is (byte)TcpFrameType.Joined or (byte)TcpFrameType.Data or (byte)TcpFrameType.Ack ? TcpConnectionKind.Data : TcpConnectionKind.Control;
        Assert.Equal(TcpDecodeStatus.Ok, TcpFrameHeader.TryRead(header, kind, fromClient: false, out var h));
        var payload = new byte[h.Length];
        await ReadExactlyAsync(payload, cts.Token);
        return (h.Type, payload);
    }

    /// <summary>Parses the ERROR frame a server sent before closing, if any.</summary>
    public static TcpErrorFrame? ParseError(byte[] received)
    {
        if (received.Length < 5 || TcpFrameHeader.TryRead(received, TcpConnectionKind.Control, fromClient: false, out var h) != TcpDecodeStatus.Ok
            || h.Type != TcpFrameType.Error || received.Length < 5 + h.Length)
        {
            return null;
        }

        return TcpErrorFrame.TryRead(received.AsSpan(5, h.Length), out var e) == TcpDecodeStatus.Ok ? e : null;
    }

    public void Dispose() => _socket.Dispose();

    private async Task ReadExactlyAsync(byte[] buffer, CancellationToken ct)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await _socket.ReceiveAsync(buffer.AsMemory(done), SocketFlags.None, ct);
            if (n == 0)
            {
                throw new EndOfStreamException("server closed the connection");
            }

            done += n;
        }
    }
}
