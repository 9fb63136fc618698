using Ferry.Protocol.Security;
using Ferry.Protocol.Udp.Recovery;
using Ferry.Protocol.Udp.Wire;

namespace Ferry.Protocol.Udp;

/// <summary>
/// The secure channel of a connection (docs/PROTOCOL.md, "Secure channel" and "udp://"): the client's first
/// Initial carries HELLO; the server answers with SERVER_HELLO in a cleartext packet and from then on both sides
/// protect every packet with AES-256-GCM. The client sends REQUEST (with its access token) only after the
/// application confirmed the server's key. With <c>--insecure</c> on the client, HELLO says "cleartext" and
/// REQUEST travels in the same Initial, as in the unencrypted protocol.
/// </summary>
public sealed partial class Connection
{
    /// <summary>True once packets are encrypted (both sides have the session keys).</summary>
    public bool IsEncrypted => _keys is not null;

    /// <summary>Server: the access token the client sent with its request.</summary>
    public string AccessToken => _accessToken;

    /// <summary>Client: the server's key is the expected one; send the request.</summary>
    public void ConfirmServerKey()
    {
        if (!IsClient || _keys is null || State != ConnectionState.Handshake)
        {
            throw new InvalidOperationException("ConfirmServerKey is for a client whose handshake produced a server key");
        }

        Queue(_openOnAccept is null ? ControlFrames.Request : ControlFrames.Request | ControlFrames.Have | ControlFrames.MaxData);
        StartEarlyData();
    }

    /// <summary>
    /// Server endpoint: this connection was opened by a handshake token, so its handshake already happened (statelessly,
    /// in <see cref="ServerEndpoint"/>): take its keys; the client has the SERVER_HELLO.
    /// </summary>
    internal void AdoptKeys(SessionKeys keys)
    {
        _keys = keys;
        _helloReceived = true;
    }

    private void StartClientHandshake()
    {
        var security = _config.Security;
        if (security.Insecure)
        {
            _insecureSession = true;
            Queue(ControlFrames.Hello | ControlFrames.Request);
            return;
        }

        _offerStatelessHello = true;

        Span<byte> random = stackalloc byte[HandshakeMessages.RandomSize];
        security.FillRandom(random);
        _clientHandshake = new ClientHandshake(security.NewEphemeral(), random, UdpSecurity.Context(LocalId));
        Queue(ControlFrames.Hello);
    }

    /// <summary>Server: a HELLO arrived (cleartext Initial). Decides the suite and, for encryption, answers.</summary>
    private void OnHello(in Wire.Frame f, long now)
    {
        if (IsClient)
        {
            ProtocolViolation("HELLO sent to a client", now);
            return;
        }

        if (_helloReceived)
        {
            return; // a retransmitted Initial
        }

        _helloReceived = true;
        var security = _config.Security;
        if (!ServerHandshake.TryReadSuite(f.Data, out byte suite))
        {
            Close(TransferError.HandshakeFailed, "malformed HELLO (this server speaks secure-channel version 1)", now);
            return;
        }

        if (suite == HandshakeMessages.SuiteNone)
        {
            if (security.Identity is not null && !security.AllowInsecure)
            {
                Close(TransferError.EncryptionRequired, "this server requires encryption: drop --insecure", now);
                return;
            }

            _insecureSession = true;
            return;
        }

        if (security.Identity is null)
        {
            Close(TransferError.EncryptionUnavailable, "this server has no key and serves unencrypted clients only: use --insecure", now);
            return;
        }

        Span<byte> random = stackalloc byte[HandshakeMessages.RandomSize];
        security.FillRandom(random);
        using var ephemeral = security.NewEphemeral();
        var result = ServerHandshake.Respond(UdpSecurity.Context(RemoteId), f.Data, security.Identity, ephemeral, random, security.EpochBits, out var hello, out var keys);
        if (result != HandshakeFailure.None)
        {
            Close(TransferError.HandshakeFailed, $"handshake failed: {result}", now);
            return;
        }

        _keys = keys;
        _serverHello = hello;
        Queue(ControlFrames.ServerHello);
    }

    /// <summary>Client: the SERVER_HELLO arrived; check the signature and derive the keys.</summary>
    private void OnServerHello(in Wire.Frame f, long now)
    {
        if (!IsClient)
        {
            ProtocolViolation("SERVER_HELLO sent to a server", now);
            return;
        }

        if (_clientHandshake is null || _keys is not null)
        {
            return; // cleartext session, or a retransmission
        }

        var result = _clientHandshake.TryComplete(f.Data, _config.Security.EpochBits, out var keys, out var serverKey);
        if (result != HandshakeFailure.None)
        {
            // Nothing was sent but the hello: close and tell the application why.
            Close(TransferError.HandshakeFailed, $"the server's handshake did not verify ({result}); someone may be tampering with the connection", now);
            return;
        }

        _keys = keys;
        _clientHandshake.Dispose();
        _clientHandshake = null;

        // The server has our hello (it answered it): stop sending it, in cleartext or not.
        _neededControls &= ~ControlFrames.Hello;
        _pendingControls &= ~ControlFrames.Hello;
        _events.Enqueue(new ConnectionEvent(ConnectionEventKind.ServerKeyReceived) { ServerKey = serverKey });
    }

    /// <summary>
    /// Client: a Handshake packet, the stateless server's answer to our first HELLO: a SERVER_HELLO and the token that
    /// brings the server's side of the handshake back with our next packet. Acted on only as the first answer.
    /// </summary>
    private void OnHandshakePacket(in PacketView packet, long now)
    {
        if (!IsClient || !_offerStatelessHello || State != ConnectionState.Handshake || _token.Length != 0 || _keys is not null)
        {
            return;
        }

        var r = new Common.SpanReader(packet.Payload);
        while (!r.End)
        {
            if (!FrameCodec.TryRead(ref r, _ackScratch, out var f))
            {
                Stats.MalformedPackets++;
                return;
            }

            if (f.Type == FrameType.ServerHello)
            {
                OnServerHello(f, now);
                if (_keys is not null)
                {
                    _token = packet.Token.ToArray();
                    // The server kept nothing: the Initials that carried HELLO will never be acknowledged.
                    ForgetUnansweredInitials();
                }

                return;
            }
        }
    }

    /// <summary>Which frames a cleartext packet may carry. Everything, in a cleartext session; only the handshake otherwise.</summary>
    private bool CleartextFrameAllowed(FrameType type) => _insecureSession || IsHandshakeFrame(type);

    /// <summary>The frames a side acts on in cleartext before its session is known to be a cleartext one.</summary>
    private static bool IsHandshakeFrame(FrameType type) =>
        type is FrameType.Padding or FrameType.Ack or FrameType.Hello or FrameType.ServerHello or FrameType.Close;

    /// <summary>
    /// Decrypts a protected packet into the connection's scratch buffer (<c>_plain</c>, as long as the ciphertext). False (counted, packet dropped) when
    /// there are no keys yet or it does not authenticate.
    /// </summary>
    private bool TryUnprotect(in PacketView packet)
    {
        if (_keys is null)
        {
            Stats.UndecryptablePackets++;
            return false;
        }

        _plain ??= new byte[Packet.MaxMaxDatagram];
        var plain = _plain.AsSpan(0, packet.Payload.Length);
        if (!_keys.Receive.TryOpen(packet.PacketNumber, packet.Header, packet.Payload, packet.Tag, plain))
        {
            Stats.UndecryptablePackets++;
            return false;
        }

        if (!IsClient && (_neededControls & ControlFrames.ServerHello) != 0)
        {
            // The client could protect this packet, so it has our SERVER_HELLO.
            _neededControls &= ~ControlFrames.ServerHello;
            _pendingControls &= ~ControlFrames.ServerHello;
        }

        return true;
    }

    /// <summary>
    /// Finishes a packet written at buffer[0..length): protected (flag, encrypt in place, tag) once there are
    /// keys, otherwise the CRC-32C trailer. Returns the datagram length.
    /// </summary>
    private int SealPacket(Span<byte> buffer, int headerEnd, int length, bool cleartext)
    {
        if (_keys is null || cleartext)
        {
            return Packet.Seal(buffer, length);
        }

        buffer[3] |= Packet.FlagProtected;
        ulong pn = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(buffer[12..]);
        _keys.Send.Seal(pn, buffer[..headerEnd], buffer[headerEnd..length], buffer.Slice(length, Packet.TagSize));
        return length + Packet.TagSize;
    }

    /// <summary>Bytes a packet needs after its frames.</summary>
    private int TrailerFor(bool cleartext) => _keys is null || cleartext ? Packet.TrailerSize : Packet.TagSize;

    private void DisposeKeys()
    {
        _keys?.Dispose();
        _clientHandshake?.Dispose();
        _clientHandshake = null;
    }
}
