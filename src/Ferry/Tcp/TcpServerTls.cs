using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ferry.Protocol.Security;

namespace Ferry.Tcp;

/// <summary>
/// The server half of tcp:// encryption: a self-signed X.509 certificate made at start from the server's long-term
/// P-256 key, and the TLS 1.3 handshake on an accepted socket. Clients do not check the certificate's chain or
/// name, only its key (the same fingerprint udp:// and the relay present), so the certificate is just a carrier.
/// </summary>
internal sealed class TcpServerTls : IDisposable
{
    private readonly X509Certificate2 _certificate;
    private readonly SslServerAuthenticationOptions _options;

    public TcpServerTls(ServerKeyPair identity)
    {
        var request = new CertificateRequest("CN=ferry", identity.Key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(20));

        // CreateSelfSigned's result refers to the caller's key object; a PKCS#12 round trip gives the certificate
        // its own copy of the private key, which every platform's TLS stack can use (Windows needs it, Linux tolerates it).
        byte[] pfx = created.Export(X509ContentType.Pkcs12);
        try
        {
            _certificate = X509CertificateLoader.LoadPkcs12(pfx, password: null, X509KeyStorageFlags.EphemeralKeySet);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pfx);
        }

        _options = new SslServerAuthenticationOptions
        {
            // Built once (offline: the self-signed certificate has no chain to fetch), shared by every handshake.
            ServerCertificateContext = SslStreamCertificateContext.Create(_certificate, additionalCertificates: null, offline: true),
            EnabledSslProtocols = SslProtocols.Tls13,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            EncryptionPolicy = EncryptionPolicy.RequireEncryption,

            // Every connection makes a full handshake and proves the key again (see docs/PROTOCOL.md): no session
            // tickets, so no NewSessionTicket flight after each handshake either.
            AllowTlsResume = false,
        };
    }

    /// <summary>
    /// Runs the server side of a TLS 1.3 handshake on <paramref name="socket"/> (the client's ClientHello is next on
    /// the wire). Failures (junk, another TLS version, a reset) surface as <see cref="AuthenticationException"/> or
    /// <see cref="IOException"/>; the caller closes the connection.
    /// </summary>
    public async Task<(SslStream Tls, TcpTlsTransport Transport)> AuthenticateAsync(Socket socket, CancellationToken ct)
    {
        var transport = new TcpTlsTransport(socket);
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsServerAsync(_options, ct).ConfigureAwait(false);
            transport.Established();
            return (ssl, transport);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public void Dispose() => _certificate.Dispose();
}
