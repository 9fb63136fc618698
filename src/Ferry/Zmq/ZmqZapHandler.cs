using System.Text;
using Ferry.Zmq.Native;

namespace Ferry.Zmq;

/// <summary>
/// The server's ZAP handler (ZeroMQ RFC 27): libzmq asks it about every CURVE handshake on the ROUTER's context.
/// It accepts every client (users are authenticated by access tokens, not CURVE keys) and names the client's public
/// key (Z85) as the connection's user id, which libzmq then attaches to every message as the "User-Id" property.
/// That lets a transfer belong to the CURVE key that opened it: a routing id can be claimed by anyone once its
/// connection is gone, a key only by whoever holds its secret. Runs on the socket loop's thread (REP, inproc).
/// </summary>
internal sealed class ZmqZapHandler : IDisposable
{
    /// <summary>The endpoint libzmq looks for in the socket's context.</summary>
    public const string Endpoint = "inproc://zeromq.zap.01";

    private readonly List<byte[]> _frames = new();

    public ZmqZapHandler(ZmqContext context)
    {
        Socket = context.CreateSocket(ZmqSocketType.Rep);
        try
        {
            Socket.Bind(Endpoint);
        }
        catch
        {
            Socket.Dispose();
            throw;
        }
    }

    public ZmqSocket Socket { get; }

    /// <summary>Handshakes answered.</summary>
    public long Answered { get; private set; }

    /// <summary>Answers one waiting request, if any; false when none is waiting.</summary>
    public bool TryServeOne()
    {
        if (!Socket.TryReceiveMessage(_frames, out int count, dontWait: true, maxFrames: 8))
        {
            return false;
        }

        // Request: version, request id, domain, address, routing id, mechanism, credentials (CURVE: the 32-byte key).
        // A REP socket must answer every request, so a malformed one gets a refusal rather than silence.
        byte[] requestId = count >= 2 && _frames.Count >= 2 ? _frames[1] : [];
        bool curve = count == 7 && _frames.Count == 7 && _frames[0].AsSpan().SequenceEqual("1.0"u8)
            && _frames[5].AsSpan().SequenceEqual("CURVE"u8) && _frames[6].Length == ZmqCurve.KeyBytes;
        byte[] userId = curve ? Encoding.ASCII.GetBytes(ZmqCurve.Z85Encode(_frames[6])) : [];
        ReadOnlyMemory<byte>[] reply =
        [
            "1.0"u8.ToArray(),
            requestId,
            curve ? "200"u8.ToArray() : "400"u8.ToArray(),
            curve ? "OK"u8.ToArray() : "malformed ZAP request"u8.ToArray(),
            userId,
            Array.Empty<byte>(),
        ];
        Socket.TrySendMessage(reply, dontWait: true);
        Answered++;
        return true;
    }

    public void Dispose() => Socket.Dispose();
}
