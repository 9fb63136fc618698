using System.Net;
using System.Net.Sockets;
using Ferry.Protocol.Udp.Wire;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Ferry.Udp;
using Xunit;
using Xunit.Abstractions;

namespace Ferry.Tests.Udp;

/// <summary>A flood of handshake packets from one source beside a legitimate transfer (hostile peers).</summary>
[Collection(SerialCollection.Name)]
public sealed class UdpHandshakeFloodTests
{
    private readonly ITestOutputHelper _output;

    public UdpHandshakeFloodTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task A_flood_of_100000_initials_from_one_source_does_not_stop_a_transfer_and_is_not_amplified()
    {
        await using var server = new UdpServerFixture();
        var data = new byte[8 << 20];
        new Random(3).NextBytes(data);
        File.WriteAllBytes(Path.Combine(server.Root, "f.bin"), data);

        using var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        attacker.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0)); // another source address on loopback
        var rng = new Random(11);
        var initial = UdpEndToEndTests.BuildInitial(rng);
        long sent = 0;
        var flood = Task.Run(async () =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                // A fresh client id and a forged token each time: every one asks for a new connection.
                rng.NextBytes(initial.AsSpan(Packet.HeaderSize, 8 + 2 + 16));
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(initial.AsSpan(Packet.HeaderSize + 8), 16);
                Packet.Seal(initial, initial.Length - Packet.TrailerSize);
                attacker.SendTo(initial, server.EndPoint);
                sent += initial.Length;
                if (i % 1000 == 999)
                {
                    await Task.Yield();
                }
            }
        });

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = new ClientOptions { KnownHosts = new Ferry.Security.KnownHosts(server.Local("known_hosts")) };
        var result = await new UdpTransferClient().GetAsync(server.Url("f.bin"), server.Local("copy.bin"), options, new RecordingProgress(), CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(120));
        var transferTime = clock.Elapsed;
        await flood;
        Assert.Equal(data.Length, result.Bytes);
        Assert.Equal(data, File.ReadAllBytes(server.Local("copy.bin")));

        var stats = server.Listener.Stats;
        // Retries answer Initials with forged tokens; nothing was created for the attacker.
        Assert.Equal(1, stats.ConnectionsCreated);
        long retryBytes = stats.RetriesSent * (Packet.HeaderSize + 2 + 24 + Packet.TrailerSize);
        double ratio = (double)retryBytes / sent;
        _output.WriteLine($"transfer {transferTime.TotalSeconds:F2} s beside a flood of 100,000 Initials; server saw {stats.Datagrams} datagrams, " +
            $"sent {stats.RetriesSent} Retries (~{retryBytes} bytes for {sent} received by the attacker's count: ratio {ratio:F3}), invalid tokens {stats.InvalidTokens}");
        Assert.True(ratio < 3, $"amplification {ratio:F3}");
    }
}
