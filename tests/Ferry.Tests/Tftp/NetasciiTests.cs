using System.Text;
using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

public sealed class NetasciiTests
{
    [Theory]
    [InlineData("a\nb", "a\r\nb")]
    [InlineData("a\rb", "a\r\0b")]
    [InlineData("\n\n", "\r\n\r\n")]
    [InlineData("end\r", "end\r\0")]
    [InlineData("", "")]
    public void Encode_and_decode(string local, string wire)
    {
        var encoder = new NetasciiEncoder();
        var output = new byte[64];
        int n = encoder.Encode(Encoding.ASCII.GetBytes(local), output, out int consumed);
        Assert.Equal(local.Length, consumed);
        Assert.Equal(wire, Encoding.ASCII.GetString(output, 0, n));

        var decoder = new NetasciiDecoder();
        var back = new byte[64];
        int m = decoder.Decode(Encoding.ASCII.GetBytes(wire), back);
        m += decoder.Finish(back.AsSpan(m));
        Assert.Equal(local, Encoding.ASCII.GetString(back, 0, m));
    }

    [Fact]
    public void Expansion_split_across_outputs_fills_every_block()
    {
        var encoder = new NetasciiEncoder();
        var output = new byte[3];
        int n = encoder.Encode("ab\n"u8, output, out int consumed);
        Assert.Equal(3, n);
        Assert.Equal(3, consumed);
        Assert.True(encoder.HasPending);
        n = encoder.Encode(ReadOnlySpan<byte>.Empty, output, out _);
        Assert.Equal(1, n);
        Assert.Equal((byte)'\n', output[0]);
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(8, 4)]
    [InlineData(512, 2)]
    public void Netascii_download_and_upload_round_trip_with_loss(int blockSize, int windowSize)
    {
        var rng = new Random(blockSize + windowSize);
        var text = new byte[20_000];
        for (int i = 0; i < text.Length; i++)
        {
            text[i] = (byte)(rng.Next(6) switch { 0 => '\n', 1 => '\r', _ => 'a' + rng.Next(26) });
        }

        // The server sends the file as netascii; the client decodes it back through a NetasciiBlockSink.
        var localCopy = new MemoryBlockSink();
        var decoding = new NetasciiBlockSink(localCopy);
        var link = new TftpLink(
            now => TftpReceiver.ForClient(decoding, "t.txt", TftpNegotiation.ClientOptions(blockSize, windowSize, 1, null), 1_000_000, TftpSessionConfig.Client, now),
            (request, now) => TftpSender.ForServer(new NetasciiBlockSource(new MemoryBlockSource(text), (windowSize + 1) * blockSize),
                TftpNegotiation.NegotiateServer(request, new TftpServerPolicy(), null), TftpSessionConfig.Server, now),
            seed: 3)
        {
            LossRate = 0.05,
        };

        link.Run();
        Assert.True(link.Client.State == TftpSessionState.Completed, $"{link.Client.Failure} / {link.Server?.Failure}");
        decoding.Finish();
        Assert.Equal(text, localCopy.ToArray());
        Assert.True(link.Server!.Stats.DataRetransmitted > 0);
    }
}
