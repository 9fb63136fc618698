using System.Net;
using System.Net.Sockets;
using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

/// <summary>A hand-driven UDP socket on 127.0.0.1 for sending crafted TFTP packets and reading replies (bounded waits).</summary>
internal sealed class RawTftpPeer : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly byte[] _buffer = new byte[TftpLimits.MaxPacketLength];

    public RawTftpPeer()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public void Send(byte[] datagram, IPEndPoint to) => _socket.SendTo(datagram, to);

    public void SendRequest(TftpOpcode opcode, string file, IPEndPoint to, params TftpOption[] options)
    {
        int n = TftpPacketWriter.WriteRequest(_buffer, opcode, file, TftpMode.Octet, options);
        _socket.SendTo(_buffer.AsSpan(0, n), SocketFlags.None, to);
    }

    public void SendAck(ushort block, IPEndPoint to)
    {
        int n = TftpPacketWriter.WriteAck(_buffer, block);
        _socket.SendTo(_buffer.AsSpan(0, n), SocketFlags.None, to);
    }

    /// <summary>The next datagram and its source, or null when nothing came within <paramref name="limit"/>.</summary>
    public (byte[] Data, IPEndPoint From)? Receive(TimeSpan limit)
    {
        if (!_socket.Poll((int)limit.TotalMicroseconds, SelectMode.SelectRead))
        {
            return null;
        }

        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int n = _socket.ReceiveFrom(_buffer, ref from);
        return (_buffer[..n], (IPEndPoint)from);
    }

    /// <summary>Waits for an ERROR packet and returns its code and message (fails the test otherwise).</summary>
    public (TftpErrorCode Code, string Message) ExpectError(TimeSpan limit)
    {
        var r = Receive(limit) ?? throw new Xunit.Sdk.XunitException("no reply (expected an ERROR)");
        Assert.True(TftpPacketReader.TryReadError(r.Data, out var code, out string message), $"expected ERROR, got opcode {r.Data[1]}");
        return (code, message);
    }

    public void Dispose() => _socket.Dispose();
}
