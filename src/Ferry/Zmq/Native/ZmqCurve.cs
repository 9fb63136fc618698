using System.Text;

namespace Ferry.Zmq.Native;

/// <summary>
/// ZeroMQ's CURVE mechanism (CurveZMQ: Curve25519 keys, crypto_box per message) as libzmq exposes it: whether the
/// loaded library has it, key pairs, and the Z85 text form users copy (40 characters for a 32-byte key).
/// </summary>
public static unsafe class ZmqCurve
{
    /// <summary>Curve25519 key length in bytes.</summary>
    public const int KeyBytes = 32;

    /// <summary>Z85 text length of a key.</summary>
    public const int KeyZ85Length = 40;

    private static readonly Lazy<bool> s_available = new(() => ZmqLibrary.IsAvailable && LibZmq.Has("curve") != 0);

    /// <summary>True when libzmq was built with CURVE (libsodium or tweetnacl); Debian's libzmq5 is.</summary>
    public static bool IsAvailable => s_available.Value;

    /// <summary>What a user is told when CURVE is missing.</summary>
    public static string MissingHint =>
        $"the libzmq {ZmqLibrary.Version} on this machine was built without CURVE (zmq_has(\"curve\") is false; it needs libsodium), so zmq:// cannot be encrypted here";

    /// <summary>Z85 text of <paramref name="data"/> (length a multiple of 4).</summary>
    public static string Z85Encode(ReadOnlySpan<byte> data)
    {
        if (data.Length % 4 != 0)
        {
            throw new ArgumentException("Z85 encodes multiples of 4 bytes", nameof(data));
        }

        byte[] text = new byte[(data.Length / 4 * 5) + 1];
        fixed (byte* d = data)
        fixed (byte* t = text)
        {
            if (LibZmq.Z85Encode(t, d, (nuint)data.Length) == 0)
            {
                throw new ArgumentException("zmq_z85_encode failed", nameof(data));
            }
        }

        return Encoding.ASCII.GetString(text, 0, text.Length - 1);
    }

    /// <summary>Decodes a 40-character Z85 key; false when <paramref name="text"/> is not one.</summary>
    public static bool TryDecodeKey(string text, out byte[] key)
    {
        key = Array.Empty<byte>();
        if (text.Length != KeyZ85Length || text.Any(c => c is < '!' or > '~'))
        {
            return false;
        }

        byte[] z = new byte[KeyZ85Length + 1];
        Encoding.ASCII.GetBytes(text, z);
        byte[] decoded = new byte[KeyBytes];
        fixed (byte* zp = z)
        fixed (byte* dp = decoded)
        {
            // libzmq rejects characters outside the Z85 alphabet and values over 2^32-1 per group.
            if (LibZmq.Z85Decode(dp, zp) == 0)
            {
                return false;
            }
        }

        key = decoded;
        return true;
    }

    /// <summary>A fresh key pair (Z85 text), e.g. a client's per-connection key.</summary>
    public static (string PublicZ85, string SecretZ85) NewKeyPair()
    {
        byte* pub = stackalloc byte[KeyZ85Length + 1];
        byte* sec = stackalloc byte[KeyZ85Length + 1];
        if (LibZmq.CurveKeyPair(pub, sec) != 0)
        {
            throw ZmqException.Last("zmq_curve_keypair");
        }

        var result = (Encoding.ASCII.GetString(pub, KeyZ85Length), Encoding.ASCII.GetString(sec, KeyZ85Length));
        new Span<byte>(sec, KeyZ85Length + 1).Clear();
        return result;
    }

    /// <summary>The public key (Z85) of a 32-byte secret key.</summary>
    public static string PublicKeyOf(ReadOnlySpan<byte> secret)
    {
        if (secret.Length != KeyBytes)
        {
            throw new ArgumentException("a CURVE secret key is 32 bytes", nameof(secret));
        }

        byte* sec = stackalloc byte[KeyZ85Length + 1];
        byte* pub = stackalloc byte[KeyZ85Length + 1];
        try
        {
            fixed (byte* s = secret)
            {
                LibZmq.Z85Encode(sec, s, KeyBytes);
            }

            if (LibZmq.CurvePublic(pub, sec) != 0)
            {
                throw ZmqException.Last("zmq_curve_public");
            }

            return Encoding.ASCII.GetString(pub, KeyZ85Length);
        }
        finally
        {
            new Span<byte>(sec, KeyZ85Length + 1).Clear();
        }
    }
}
