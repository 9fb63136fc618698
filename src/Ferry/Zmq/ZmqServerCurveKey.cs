using System.Security.Cryptography;
using System.Text;
using Ferry.Protocol.Security;
using Ferry.Zmq.Native;

namespace Ferry.Zmq;

/// <summary>
/// The zmq:// server's CURVE key pair, derived from the server's long-term P-256 key so it needs no file of its own
/// and stays the same across restarts (and changes when <c>server-key.pem</c> is replaced):
/// <c>secret = HKDF-SHA256(IKM = d, salt = "", info = "ferry/1 zmq curve", L = 32)</c> where <c>d</c> is the
/// 32-byte big-endian P-256 private scalar; the public key is Curve25519(secret) (zmq_curve_public). The scalar is
/// used rather than the PKCS#8 bytes because it is canonical: any encoding of the same key gives the same CURVE key.
/// HKDF output is indistinguishable from random without <c>d</c>, so the CURVE key reveals nothing about the P-256 key.
/// </summary>
public sealed class ZmqServerCurveKey
{
    /// <summary>The HKDF info label.</summary>
    public const string Label = "ferry/1 zmq curve";

    private readonly byte[] _secret;

    private ZmqServerCurveKey(byte[] secret, string publicZ85)
    {
        _secret = secret;
        PublicZ85 = publicZ85;
    }

    /// <summary>The public key in Z85 (40 characters): what <c>ferry serve</c> prints and clients pass as <c>--server-key</c>.</summary>
    public string PublicZ85 { get; }

    /// <summary>
    /// The <c>--server-key</c> argument that passes <paramref name="z85"/>, single-quoted so that it can be pasted into
    /// a shell as it is: Z85 uses <c>$ &amp; # &gt; &lt; ( ) ? *</c> and such, but never a single quote.
    /// </summary>
    public static string ServerKeyArgument(string z85) => $"--server-key '{z85}'";

    /// <summary>The 32-byte secret key (for ZMQ_CURVE_SECRETKEY).</summary>
    public ReadOnlySpan<byte> Secret => _secret;

    /// <summary>Derives the CURVE key pair of <paramref name="identity"/> (needs libzmq with CURVE for the public half).</summary>
    public static ZmqServerCurveKey Derive(ServerKeyPair identity)
    {
        byte[] secret = DeriveSecret(identity);
        return new ZmqServerCurveKey(secret, ZmqCurve.PublicKeyOf(secret));
    }

    /// <summary>The 32-byte CURVE secret of <paramref name="identity"/> (pure; no libzmq needed).</summary>
    public static byte[] DeriveSecret(ServerKeyPair identity)
    {
        var parameters = identity.Key.ExportParameters(includePrivateParameters: true);
        byte[] d = parameters.D!;
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, d, ZmqCurve.KeyBytes, salt: Array.Empty<byte>(), info: Encoding.ASCII.GetBytes(Label));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }
}
