using System.Security.Cryptography;

namespace Ferry.Protocol.Security;

/// <summary>
/// The client end of a secure envelope: send <see cref="WriteHello"/> until a SERVER_HELLO arrives, check the
/// server key it returns, then seal every datagram. Pure: no socket, no clock.
/// </summary>
public sealed class EnvelopeClient : IDisposable
{
    private readonly ClientHandshake _handshake;
    private readonly int _epochBits;
    private readonly ReplayWindow _replay = new();
    private SessionKeys? _keys;
    private ulong _counter;

    public EnvelopeClient(string protocol, ulong channel, ECDiffieHellman ephemeral, ReadOnlySpan<byte> random, int epochBits = PacketProtector.DefaultEpochBits)
    {
        if (channel == 0)
        {
            throw new ArgumentException("the channel id must not be 0", nameof(channel));
        }

        Channel = channel;
        _epochBits = epochBits;
        _handshake = new ClientHandshake(ephemeral, random, Envelope.Context(protocol, channel));
    }

    public ulong Channel { get; }

    /// <summary>True once the SERVER_HELLO verified (the caller must still check the server key).</summary>
    public bool IsEstablished => _keys is not null;

    /// <summary>Writes the HELLO datagram (1200 bytes); returns its length.</summary>
    public int WriteHello(Span<byte> buffer)
    {
        buffer[..Envelope.HelloSize].Clear();
        Envelope.WriteHeader(buffer, Envelope.TypeHello, Channel);
        _handshake.Hello.CopyTo(buffer[Envelope.HeaderSize..]);
        return Envelope.HelloSize;
    }

    /// <summary>
    /// Handles an envelope datagram from the server. SERVER_HELLO: verifies it and returns the server key in
    /// <paramref name="serverKey"/>. SEALED: decrypts into <paramref name="output"/> and sets <paramref name="length"/>.
    /// REFUSED: returns <see cref="EnvelopeEvent.Refused"/> with the reason.
    /// </summary>
    public EnvelopeEvent Handle(ReadOnlySpan<byte> datagram, Span<byte> output, out int length, out byte[]? serverKey, out string reason)
    {
        length = 0;
        serverKey = null;
        reason = string.Empty;
        if (!Envelope.IsEnvelope(datagram) || Envelope.ChannelOf(datagram) != Channel)
        {
            return EnvelopeEvent.Dropped;
        }

        switch (datagram[1])
        {
            case Envelope.TypeServerHello when _keys is null:
            {
                var result = _handshake.TryComplete(datagram[Envelope.HeaderSize..], _epochBits, out var keys, out var key);
                if (result != HandshakeFailure.None)
                {
                    reason = $"the server's handshake did not verify ({result})";
                    return EnvelopeEvent.HandshakeFailed;
                }

                _keys = keys;
                serverKey = key;
                return EnvelopeEvent.Established;
            }

            case Envelope.TypeSealed when _keys is not null:
                length = Envelope.Open(_keys, _replay, datagram, output);
                return length >= 0 ? EnvelopeEvent.Opened : EnvelopeEvent.Dropped;
            case Envelope.TypeRefused when _keys is null:
                return Envelope.TryReadRefused(datagram, out _, out reason) ? EnvelopeEvent.Refused : EnvelopeEvent.Dropped;
            default:
                return EnvelopeEvent.Dropped;
        }
    }

    /// <summary>Seals one inner datagram; returns the envelope's length.</summary>
    public int Seal(ReadOnlySpan<byte> inner, Span<byte> output)
    {
        if (_keys is null)
        {
            throw new InvalidOperationException("the envelope has no keys yet");
        }

        return Envelope.Seal(_keys, Channel, ref _counter, inner, output);
    }

    public void Dispose()
    {
        _keys?.Dispose();
        _handshake.Dispose();
    }
}
