using System.Net.Sockets;
using System.Security.Cryptography;
using Ferry.Protocol.Security;
using Ferry.Security;
using Ferry.Timing;
using Ferry.Transfers;

namespace Ferry.Relay;

/// <summary>The secure envelope of a relay client: the first handshake, and a new one after the server forgot us.</summary>
public sealed partial class RelayChatClient
{
    /// <summary>
    /// The secure envelope's handshake: HELLO until SERVER_HELLO (every 300 ms, up to the registration timeout),
    /// then the server key is checked against --server-key or known_hosts before anything else is sent.
    /// </summary>
    private static async Task<EnvelopeClient> HandshakeAsync(Socket socket, ShellClock clock, string host, int port, RelayChatOptions options, CancellationToken ct)
    {
        var envelope = NewEnvelope();
        try
        {
            var hello = new byte[Envelope.HelloSize];
            envelope.WriteHello(hello);
            var buffer = new byte[Envelope.HelloSize + Envelope.Overhead];
            var output = new byte[buffer.Length];
            long deadline = clock.NowMicros + (long)options.RegisterTimeout.TotalMicroseconds;
            while (true)
            {
                if (clock.NowMicros > deadline)
                {
                    throw new TransferException(ExitCode.Timeout,
                        $"no answer from the relay at {host}:{port} within {options.RegisterTimeout.TotalSeconds:F0} s (not running, or an old server without encryption: try --insecure)");
                }

                try
                {
                    socket.Send(hello);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.HostUnreachable
                    or SocketError.NetworkUnreachable or SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable)
                {
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(TimeSpan.FromMilliseconds(300));
                int n;
                try
                {
                    n = await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    continue;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.MessageSize)
                {
                    await Task.Delay(100, ct).ConfigureAwait(false);
                    continue;
                }

                switch (envelope.Handle(buffer.AsSpan(0, n), output, out _, out var serverKey, out var reason))
                {
                    case EnvelopeEvent.Established:
                        ClientSecurity.VerifyServerKey(options.ServerKey, options.KnownHosts, options.Notice, host, port, serverKey);
                        return envelope;
                    case EnvelopeEvent.Refused:
                        throw new TransferException(ExitCode.Refused, $"the relay refused: {reason}");
                    case EnvelopeEvent.HandshakeFailed:
                        throw new TransferException(ExitCode.Failure, $"the relay at {host}:{port}: {reason}; someone may be tampering with the connection");
                }
            }
        }
        catch
        {
            envelope.Dispose();
            throw;
        }
    }

    /// <summary>A fresh envelope: a random non-zero channel id, a new ephemeral key and random.</summary>
    private static EnvelopeClient NewEnvelope() => new(
        "relay",
        BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) | 1,
        ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256),
        RandomNumberGenerator.GetBytes(HandshakeMessages.RandomSize));

    /// <summary>The server forgot our envelope (restart): shake hands again; the relay core's retransmissions carry on after.</summary>
    private void StartRehandshakeLocked(long now)
    {
        _rehandshake = NewEnvelope();
        _rehandshakeHello = new byte[Envelope.HelloSize];
        _rehandshake.WriteHello(_rehandshakeHello);
        SendHelloLocked(now);
    }

    private void SendHelloLocked(long now)
    {
        _rehandshakeSent = now;
        _socket.Send(_rehandshakeHello!, SocketFlags.None, out _); // errors are like loss: resent in 300 ms
    }

    private void FinishRehandshakeLocked(ReadOnlySpan<byte> datagram)
    {
        var ev = _rehandshake!.Handle(datagram, _openBuffer, out _, out var serverKey, out var reason);
        if (ev == EnvelopeEvent.Established)
        {
            try
            {
                ClientSecurity.VerifyServerKey(_options!.ServerKey, _options.KnownHosts, _options.Notice, _host, _port, serverKey);
            }
            catch (TransferException e)
            {
                _failure = e;
                _registered.TrySetException(e);
                _rehandshake.Dispose();
                _rehandshake = null;
                return;
            }

            _envelope!.Dispose();
            _envelope = _rehandshake;
            _rehandshake = null;
        }
        else if (ev is EnvelopeEvent.Refused or EnvelopeEvent.HandshakeFailed)
        {
            _failure = new TransferException(ev == EnvelopeEvent.Refused ? ExitCode.Refused : ExitCode.Failure, $"the relay at {_host}:{_port}: {reason}");
            _registered.TrySetException(_failure);
        }
    }
}
