using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Ferry.Protocol.Security;

/// <summary>The handshake transcript hash: SHA-256 over the context, the client hello and the signed part of the server hello.</summary>
internal static class Transcript
{
    public static byte[] Hash(ReadOnlySpan<byte> context, ReadOnlySpan<byte> clientHello, ReadOnlySpan<byte> serverHelloUnsigned)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)context.Length);
        h.AppendData(length);
        h.AppendData(context);
        h.AppendData(clientHello);
        h.AppendData(serverHelloUnsigned);
        return h.GetHashAndReset();
    }

    /// <summary>What the server signs: a fixed label, a zero byte, then the transcript hash.</summary>
    public static byte[] SignedContent(ReadOnlySpan<byte> transcriptHash)
    {
        var label = Encoding.ASCII.GetBytes(HandshakeMessages.SignatureLabel);
        var content = new byte[label.Length + 1 + transcriptHash.Length];
        label.CopyTo(content, 0);
        transcriptHash.CopyTo(content.AsSpan(label.Length + 1));
        return content;
    }

    /// <summary>Imports an uncompressed P-256 point; null when it is not one (wrong form or not on the curve).</summary>
    public static ECDiffieHellman? ImportPeerKey(ReadOnlySpan<byte> point)
    {
        if (point.Length != HandshakeMessages.PublicKeySize || point[0] != 0x04)
        {
            return null;
        }

        try
        {
            var parameters = new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point.Slice(1, 32).ToArray(), Y = point.Slice(33, 32).ToArray() },
            };
            parameters.Validate();
            return ECDiffieHellman.Create(parameters);
        }
        catch (Exception e) when (e is CryptographicException or PlatformNotSupportedException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Writes the uncompressed point of <paramref name="key"/>.</summary>
    public static void WritePublicKey(ECDiffieHellman key, Span<byte> destination)
    {
        var q = key.ExportParameters(false).Q;
        destination[0] = 0x04;
        q.X.AsSpan().CopyTo(destination[1..33]);
        q.Y.AsSpan().CopyTo(destination[33..65]);
    }
}
