using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Ferry.Protocol.Tcp;

namespace Ferry.Tests.Tcp.Security;

/// <summary>Hostile or broken TLS on the tcp:// port: each is dropped on its own while real clients carry on.</summary>
public sealed class TcpTlsJunkTests
{
    private static readonly TimeSpan s_closeBound = TimeSpan.FromSeconds(15);

    private static async Task<SslStream> TlsConnectAsync(int port, SslProtocols protocols)
    {
        var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, port);
        var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                EnabledSslProtocols = protocols,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }).WaitAsync(s_closeBound);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync();
            client.Dispose();
            throw;
        }
    }

    private static async Task<byte[]> ReadUntilClosedAsync(Stream stream)
    {
        using var cts = new CancellationTokenSource(s_closeBound);
        var all = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                all.Write(buffer, 0, n);
            }
        }
        catch (IOException)
        {
            // Reset instead of a TLS close: also "closed".
        }

        return all.ToArray();
    }

    [Fact]
    public async Task TlsJunk_IsDroppedEachOnItsOwn_WhileEncryptedTransfersComplete()
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "big.bin"), 40 * TcpTestEnv.BlockSize, seed: 11);
        var server = await env.StartServerAsync(allowInsecure: false, handshakeTimeout: TimeSpan.FromSeconds(2));
        var transfer = TcpTestEnv.Client().GetAsync(server.Url("big.bin"), Path.Combine(env.Local, "a.bin"), TcpSecurityTests.Options(env, 4), TcpTestEnv.Progress(), default);

        // A TLS record byte followed by junk: the handshake fails at once.
        using var junk = await RawTcpPeer.ConnectAsync(server.Port);
        var noise = new byte[600];
        new Random(5).NextBytes(noise);
        noise[0] = TcpWire.TlsHandshakeRecord;
        await junk.TrySendAsync(noise);
        var junkClosed = junk.ReadUntilClosedAsync(s_closeBound);

        // A record header announcing a ClientHello that never comes: held only until the handshake deadline.
        using var stall = await RawTcpPeer.ConnectAsync(server.Port);
        await stall.SendAsync([TcpWire.TlsHandshakeRecord, 0x03, 0x01, 0x3F, 0xFF, 0x01]);
        var stallClosed = stall.ReadUntilClosedAsync(s_closeBound);

        // TLS 1.2 only: refused (the server speaks TLS 1.3 only).
        await Assert.ThrowsAnyAsync<Exception>(() => TlsConnectAsync(server.Port, SslProtocols.Tls12));

        // A real TLS 1.3 handshake, then garbage instead of the preamble: told so inside TLS, then closed.
        await using var garbage = await TlsConnectAsync(server.Port, SslProtocols.Tls13);
        await garbage.WriteAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray());
        var garbageAnswer = ReadUntilClosedAsync(garbage);

        // A real TLS 1.3 handshake, then silence: dropped at the handshake deadline.
        await using var silent = await TlsConnectAsync(server.Port, SslProtocols.Tls13);
        var silentAnswer = ReadUntilClosedAsync(silent);

        await transfer.WaitAsync(TcpTestEnv.Bound);
        await junkClosed;
        await stallClosed;
        var badMagic = RawTcpPeer.ParseError(await garbageAnswer);
        var timedOut = RawTcpPeer.ParseError(await silentAnswer);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Local, "a.bin")));
        Assert.Equal(TcpErrorCode.BadFrame, badMagic?.Code);
        Assert.Contains("bad magic", badMagic?.Message);
        Assert.Equal(TcpErrorCode.HandshakeTimeout, timedOut?.Code);
        Assert.Contains("TLS handshake failed", server.Log);

        // The server is still whole: another transfer works, and every junk connection is gone.
        await TcpTestEnv.Client().GetAsync(server.Url("big.bin"), Path.Combine(env.Local, "b.bin"), TcpSecurityTests.Options(env, 2), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Local, "b.bin")));
        using var settle = new CancellationTokenSource(s_closeBound);
        while (server.Listener.ConnectionCount > 0)
        {
            await Task.Delay(20, settle.Token);
        }
    }
}
