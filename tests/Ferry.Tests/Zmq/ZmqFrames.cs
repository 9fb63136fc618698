using System.Security.Cryptography;
using System.Text;

namespace Ferry.Tests.Zmq;

/// <summary>Builds protocol messages as frame lists for tests.</summary>
internal static class ZmqFrames
{
    public static ReadOnlyMemory<byte>[] Of(params object[] frames) =>
        frames.Select(f => f switch
        {
            string s => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(s),
            byte[] b => b,
            _ => throw new ArgumentException(f.GetType().Name),
        }).ToArray();

    public static ReadOnlyMemory<byte>[] Hello(string file) => Of("HELLO", file);

    public static ReadOnlyMemory<byte>[] Chunk(string file, long offset, byte[] data) =>
        Of("CHUNK", file, offset.ToString(System.Globalization.CultureInfo.InvariantCulture), data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Hex(data), data);

    public static ReadOnlyMemory<byte>[] Close(string file, long size) => Of("CLOSE", file, size.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static string Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static byte[] Bytes(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }
}
