using System.Net;
using System.Net.Sockets;
using Ferry.Protocol.Relay;
using Ferry.Protocol.Security;
using Ferry.Relay;
using Ferry.Security;
using Ferry.Tests.Support;
using Ferry.Transfers;
using Xunit;

namespace Ferry.Tests.Relay;

/// <summary>The relay's secure envelope and access tokens, end to end on loopback.</summary>
public sealed class RelaySecurityTests : IDisposable
{
    private readonly string _stateDir = RelayTestServer.NewStateDir();

    public void Dispose() => Directory.Delete(_stateDir, recursive: true);

    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public RelaySecurityTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    private Task<RelayChatClient> Connect(int port, string user, bool read = true, bool write = true, string? token = null, bool insecure = false, string? serverKey = null, int timeoutSeconds = 5) =>
        RelayChatClient.ConnectAsync("127.0.0.1", port, new RelayChatOptions
        {
            User = user,
            Read = read,
            Write = write,
            Token = token,
            Insecure = insecure,
            ServerKey = serverKey,
            KnownHosts = new KnownHosts(Path.Combine(_stateDir, "known_hosts")),
            RegisterTimeout = TimeSpan.FromSeconds(timeoutSeconds),
        }, RelayTestServer.Timeout());

    private static async Task<List<RelayMessage>> Read(RelayChatClient reader, int count)
    {
        var list = new List<RelayMessage>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (list.Count < count)
        {
            list.Add(await reader.ReadAsync(cts.Token));
        }

        return list;
    }

    [Fact]
    public async Task Lines_and_names_are_not_visible_on_the_wire_unless_insecure()
    {
        await using var server = RelayTestServer.Start(_stateDir, allowInsecure: true);
        foreach (bool insecure in new[] { false, true })
        {
            await using var tap = new UdpTap(new IPEndPoint(IPAddress.Loopback, server.Port));
            var reader = await Connect(tap.Port, insecure ? "rp" : "r", write: false, insecure: insecure);
            await using var writer = await RelayChatClient.ConnectAsync("127.0.0.1", server.Port, new RelayChatOptions { User = insecure ? "wp" : "w", Read = false, Insecure = insecure }, RelayTestServer.Timeout());
            await writer.PostAsync("TOP-SECRET-LINE number one", RelayTestServer.Timeout());
            await writer.FlushAsync(RelayTestServer.Timeout());
            var got = await Read(reader, 1);
            Assert.Equal("TOP-SECRET-LINE number one", got[0].Text);
            Assert.Equal(insecure, tap.AnyContains("TOP-SECRET-LINE"u8));
            await reader.DisposeAsync();
        }
    }

    [Fact]
    public async Task Tokens_decide_who_may_read_and_write()
    {
        var store = new TokenStore(_stateDir);
        string reader = store.Create("reader", read: true, write: false, null, DateTimeOffset.UtcNow, null);
        string writer = store.Create("writer", read: false, write: true, null, DateTimeOffset.UtcNow, null);
        await using var server = RelayTestServer.Start(_stateDir, access: new AccessPolicy(store, requireToken: false));

        var anonymous = await Assert.ThrowsAsync<TransferException>(() => Connect(server.Port, "anon"));
        Assert.Equal(ExitCode.Refused, anonymous.Code);
        Assert.Contains("requires an access token", anonymous.Message, StringComparison.Ordinal);
        var wrongRole = await Assert.ThrowsAsync<TransferException>(() => Connect(server.Port, "sneaky", read: true, write: true, token: reader));
        Assert.Contains("may not write", wrongRole.Message, StringComparison.Ordinal);

        await using var r = await Connect(server.Port, "r", write: false, token: reader);
        await using var w = await Connect(server.Port, "w", read: false, token: writer);
        await w.PostAsync("allowed", RelayTestServer.Timeout());
        await w.FlushAsync(RelayTestServer.Timeout());
        Assert.Equal("allowed", (await Read(r, 1))[0].Text);
    }

    [Fact]
    public async Task A_cleartext_client_of_an_encrypted_relay_is_told_why()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        var e = await Assert.ThrowsAsync<TransferException>(() => Connect(server.Port, "plain", insecure: true));
        Assert.Equal(ExitCode.Refused, e.Code);
        Assert.Contains("drop --insecure", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_pinned_key_stops_the_client()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        using var other = ServerKeyPair.Generate();
        var e = await Assert.ThrowsAsync<TransferException>(() => Connect(server.Port, "x", serverKey: other.Fingerprint));
        Assert.Equal(ExitCode.ServerKeyMismatch, e.Code);
        await using var ok = await Connect(server.Port, "y", serverKey: TestSecurity.ServerKey.Fingerprint);
    }

    [Fact]
    public async Task A_handshake_flood_from_one_source_does_not_stop_a_legitimate_client()
    {
        await using var server = RelayTestServer.Start(_stateDir);
        var target = new IPEndPoint(IPAddress.Loopback, server.Port);
        using var flood = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        flood.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0)); // another loopback address: another "source"
        var hello = new byte[Envelope.HelloSize];
        new EnvelopeClient("relay", 1, System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256), new byte[32]).WriteHello(hello);
        using var stop = new CancellationTokenSource();
        long sent = 0;
        var flooding = Task.Run(() =>
        {
            for (int i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(hello.AsSpan(2), (ulong)i + 1);
                flood.SendTo(hello, target);
                sent++;
            }
        });

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var reader = await Connect(server.Port, "r", write: false, timeoutSeconds: 20);
        await using var writer = await Connect(server.Port, "w", read: false, timeoutSeconds: 20);
        for (int i = 0; i < 200; i++)
        {
            await writer.PostAsync($"line {i}", RelayTestServer.Timeout());
        }

        await writer.FlushAsync(RelayTestServer.Timeout());
        Assert.Equal(200, (await Read(reader, 200)).Count);
        var clientDone = clock.Elapsed;
        await flooding;
        var stats = server.Listener.EnvelopeStats;
        _output.WriteLine($"legitimate client done after {clientDone.TotalSeconds:F2} s; flood of {sent} hellos took {clock.Elapsed.TotalSeconds:F2} s; " +
            $"server saw {stats.Hellos}, rate-limited {stats.HellosRateLimited}, bytes in {stats.BytesIn}, out {stats.BytesOut}");
        Assert.True(sent == 100_000);
        Assert.True(stats.HellosRateLimited > 0, "the flood was rate-limited");
        Assert.True(stats.BytesOut < stats.BytesIn / 3, $"sent {stats.BytesOut} bytes for {stats.BytesIn} received");
    }
}
