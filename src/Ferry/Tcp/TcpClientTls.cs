using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ferry.Protocol.Tcp;
using Ferry.Security;
using Ferry.Transfers;

namespace Ferry.Tcp;

/// <summary>
/// The client half of tcp:// encryption: a TLS 1.3 handshake on every connection of a session (control and data)
/// that trusts no certificate authority and no name, only the server key pinned for host:port (known_hosts or
/// <c>--server-key</c>), checked inside the handshake, before the preamble, OPEN or the token leave the client.
/// </summary>
internal sealed class TcpClientTls
{
    // An ERROR frame is at most 5 + 1028 bytes; that is all the bytes a refusal can need.
    private const int KeepFirstBytes = TcpWire.FrameHeaderLength + 4 + TcpWire.MaxErrorMessageBytes;

    private readonly ClientOptions _options;
    private int _keyDescribed;
    private readonly string _host;
    private readonly int _port;

    public TcpClientTls(ClientOptions options, string host, int port)
    {
        _options = options;
        _host = host;
        _port = port;
    }

    /// <summary>
    /// Runs the handshake on a connected <paramref name="socket"/>. Throws <see cref="TransferException"/>
    /// (<see cref="ExitCode.ServerKeyMismatch"/>) when the server's key is not the pinned one,
    /// <see cref="TcpPeerException"/> from the peer when the server answered with a Ferry ERROR frame instead of TLS,
    /// and a lost-connection <see cref="TcpPeerException"/> for anything else.
    /// </summary>
    public async Task<(SslStream Tls, TcpTlsTransport Transport)> AuthenticateAsync(Socket socket, CancellationToken ct)
    {
        var recorder = new TcpTlsTransport(socket, KeepFirstBytes);
        var ssl = new SslStream(recorder, leaveInnerStreamOpen: false);
        Exception? keyFailure = null;
        var options = new SslClientAuthenticationOptions
        {
            // SNI carries the name the user typed (SslStream sends none for an IP address); nothing checks it.
            TargetHost = _host,
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            EncryptionPolicy = EncryptionPolicy.RequireEncryption,
            AllowTlsResume = false,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                // Chain and name errors are expected (self-signed, no name): the key is what is pinned.
                if (certificate is null)
                {
                    return false;
                }

                try
                {
                    var cert = certificate as X509Certificate2;
                    using var copy = cert is null ? new X509Certificate2(certificate) : null;
                    var spki = (cert ?? copy!).PublicKey.ExportSubjectPublicKeyInfo();
                    ClientSecurity.VerifyServerKey(_options, _host, _port, spki, describe: Interlocked.Exchange(ref _keyDescribed, 1) == 0);
                    return true;
                }
                catch (TransferException e)
                {
                    keyFailure = e;
                    return false;
                }
            },
        };

        try
        {
            await ssl.AuthenticateAsClientAsync(options, ct).ConfigureAwait(false);
            recorder.Established();
            return (ssl, recorder);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            if (keyFailure is not null)
            {
                throw keyFailure;
            }

            if (TryReadRefusal(recorder.First, out var refusal))
            {
                throw refusal;
            }

            throw TcpPeerException.Lost($"TLS handshake with {KnownHosts.HostPort(_host, _port)} failed: {e.Message}", e);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // A Ferry server that cannot do TLS answers the ClientHello with a cleartext ERROR frame.
    private static bool TryReadRefusal(ReadOnlySpan<byte> received, out TcpPeerException refusal)
    {
        refusal = null!;
        if (TcpFrameHeader.TryRead(received, TcpConnectionKind.Control, fromClient: false, out var header) != TcpDecodeStatus.Ok
            || header.Type != TcpFrameType.Error || received.Length < TcpWire.FrameHeaderLength + header.Length
            || TcpErrorFrame.TryRead(received.Slice(TcpWire.FrameHeaderLength, header.Length), out var error) != TcpDecodeStatus.Ok)
        {
            return false;
        }

        refusal = new TcpPeerException(error.Code, error.Message, fromPeer: true);
        return true;
    }
}
