using System.Net;
using System.Text;
using Ferry.Files;
using Ferry.Protocol.Tcp;
using Ferry.Protocol.Tftp;
using Ferry.Tests.Files;
using Ferry.Tests.Support;
using Ferry.Tests.Tcp;
using Ferry.Tests.Tftp;
using Ferry.Tests.Zmq;
using Ferry.Transfers;
using Ferry.Udp;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Fuzz;

/// <summary>
/// Path handling is checked once, in one place (FileEngine.ResolvePath, used by OpenRead and BeginUpload), for
/// every mode: the same hostile list goes through the engine itself, then through each server's request path end
/// to end (udp, tcp, tftp, zmq; the relay carries no paths). The relay has no paths to check.
/// </summary>
public sealed class HostilePathTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(30);

    [Theory]
    [MemberData(nameof(HostilePaths.Names), MemberType = typeof(HostilePaths))]
    public void The_file_engine_refuses_it_for_reading_and_for_upload_as_an_invalid_path(string name)
    {
        using var fx = new EngineFixture();
        HostilePaths.Prepare(fx.Root);
        string path = HostilePaths.Get(name);
        Assert.Equal(FileErrorCode.InvalidPath, Assert.Throws<FileEngineException>(() => fx.Engine.ResolvePath(path)).Code);
        Assert.Equal(FileErrorCode.InvalidPath, Assert.Throws<FileEngineException>(() => fx.Engine.OpenRead(path).Dispose()).Code);
        Assert.Equal(FileErrorCode.InvalidPath, Assert.Throws<FileEngineException>(() => fx.Engine.BeginUpload(path, 10, null, "test").Dispose()).Code);
        Assert.Equal(0, fx.Engine.Registry.Count);
        Assert.False(File.Exists(Path.Combine(fx.Outside, "escape.bin")));
    }

    [Fact]
    public async Task Udp_refuses_every_hostile_path_for_get_and_put()
    {
        await using var server = new UdpServerFixture();
        HostilePaths.Prepare(server.Root);
        File.WriteAllBytes(server.Local("src.bin"), new byte[100]);
        foreach (var (name, path) in HostilePaths.All)
        {
            if (Encoding.UTF8.GetByteCount(path) > 1000)
            {
                // A REQUEST must fit the 1,200-byte Initial: such a path cannot even be sent over udp://.
                continue;
            }

            var get = await Assert.ThrowsAsync<TransferException>(() =>
                UdpTransferClient.GetRawAsync(server.EndPoint, path, server.Local("got.bin"), new ClientOptions(), new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit));
            Assert.True(get.Code == ExitCode.Refused, $"{name}: GET ended with {get.Code}: {get.Message}");
            var put = await Assert.ThrowsAsync<TransferException>(() =>
                UdpTransferClient.SendRawAsync(server.EndPoint, server.Local("src.bin"), path, new ClientOptions(), new RecordingProgress(), CancellationToken.None).WaitAsync(s_limit));
            Assert.True(put.Code == ExitCode.Refused, $"{name}: PUT ended with {put.Code}: {put.Message}");
        }

        Assert.False(File.Exists(server.Local("got.bin")));
        Assert.False(File.Exists(Path.Combine(server.Scratch, "escape.bin")));
    }

    [Fact]
    public async Task Tcp_refuses_every_hostile_path_in_open()
    {
        await using var env = new TcpTestEnv();
        HostilePaths.Prepare(env.Root);
        var server = await env.StartServerAsync();
        foreach (var (name, path) in HostilePaths.All)
        {
            foreach (var op in new[] { TcpOperation.Get, TcpOperation.Put })
            {
                using var peer = await RawTcpPeer.ConnectAsync(server.Port);
                await peer.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Control), OpenFrame(op, path));
                var error = RawTcpPeer.ParseError(await peer.ReadUntilClosedAsync(s_limit));
                Assert.True(error is not null, $"{name}: {op} not refused");

                // Paths OPEN cannot carry (empty, over 4,096 bytes) are malformed frames; the rest reach the engine.
                int bytes = Encoding.UTF8.GetByteCount(path);
                var expected = bytes is 0 or > TcpWire.MaxPathBytes ? TcpErrorCode.BadFrame : TcpErrorCode.InvalidPath;
                Assert.True(error!.Value.Code == expected, $"{name}: {op} refused with {error.Value.Code}, expected {expected}");
            }
        }

        Assert.False(File.Exists(Path.Combine(env.Dir, "escape.bin")));
    }

    [Fact]
    public async Task Tftp_refuses_every_hostile_path_for_read_and_write()
    {
        await using var server = new TftpServerFixture(allowWrite: true);
        HostilePaths.Prepare(server.Root);
        using var peer = new RawTftpPeer();
        foreach (var (name, path) in HostilePaths.All)
        {
            foreach (var op in new[] { TftpOpcode.Rrq, TftpOpcode.Wrq })
            {
                if (Encoding.UTF8.GetByteCount(path) + 16 > TftpLimits.MaxRequestLength || path.Contains('\0'))
                {
                    // Cannot be a TFTP file name (over the request limit, or NUL-terminated early): see the codec fuzz.
                    continue;
                }

                peer.SendRequest(op, path, server.EndPoint);
                var reply = peer.Receive(s_limit);
                Assert.True(reply is not null, $"{name}: {op} got no answer");
                if (name == "absolute")
                {
                    // TFTP names files from "/" (tftpd-hpa --secure): the leading '/' is dropped, so "/etc/passwd" is
                    // root/etc/passwd: absent on read, and a write goes there, inside the root.
                    Assert.True(op == TftpOpcode.Rrq
                        ? TftpPacketReader.TryReadError(reply!.Value.Data, out var notFound, out _) && notFound == TftpErrorCode.FileNotFound
                        : TftpPacketReader.TryReadAck(reply!.Value.Data, out _), $"{name}: {op} answered {Convert.ToHexString(reply!.Value.Data)}");
                    continue;
                }

                Assert.True(TftpPacketReader.TryReadError(reply!.Value.Data, out var code, out string message), $"{name}: {op} was not refused");
                // An empty name is refused by the request parser already (RFC 1350 has no empty file name).
                var expected = path.Length == 0 ? TftpErrorCode.IllegalOperation : TftpErrorCode.AccessViolation;
                Assert.True(code == expected, $"{name}: {op} got {code} {message}, expected {expected}");
            }
        }

        Assert.False(File.Exists(Path.Combine(server.Root, "..", "escape.bin")));
    }

    [ZmqFact]
    public async Task Zmq_refuses_every_hostile_path_in_hello()
    {
        await using var server = new ZmqServerFixture();
        HostilePaths.Prepare(server.Root);
        using var c = new TestDealer(server.Endpoint);
        foreach (var (name, path) in HostilePaths.All)
        {
            string reply = c.Call(Of("HELLO", path));
            Assert.True(reply.StartsWith("ERROR ", StringComparison.Ordinal), $"{name}: HELLO answered '{reply}'");
        }

        Assert.Empty(server.TempFiles());
    }

    private static byte[] OpenFrame(TcpOperation op, string path)
    {
        int pathBytes = Encoding.UTF8.GetByteCount(path);
        if (pathBytes is > 0 and <= TcpWire.MaxPathBytes)
        {
            var open = new TcpOpenRequest(op, path, 1, op == TcpOperation.Put ? 10 : 0, null);
            var frame = new byte[open.FrameLength];
            open.Write(frame);
            return frame;
        }

        // Built by hand: the encoder refuses these, a hostile peer does not.
        var payload = new byte[TcpWire.OpenFixedLength + pathBytes];
        payload[0] = (byte)op;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(2), 1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(30), (ushort)pathBytes);
        Encoding.UTF8.GetBytes(path, payload.AsSpan(TcpWire.OpenFixedLength));
        return [.. RawTcpPeer.Header(TcpFrameType.Open, (uint)payload.Length), .. payload];
    }
}
