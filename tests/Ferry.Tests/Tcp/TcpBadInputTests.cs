using System.Text;
using Ferry.Protocol.Tcp;

namespace Ferry.Tests.Tcp;

/// <summary>
/// Hostile or broken input on the tcp:// port: each case must get a clear error (or a close), never crash the
/// listener, and never hold up a real transfer running at the same time.
/// </summary>
public sealed class TcpBadInputTests
{
    private static readonly TimeSpan s_closeBound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Garbage_IsAnsweredWithAnErrorAndClosed_WhileATransferCompletes()
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 40 * TcpTestEnv.BlockSize, seed: 61);
        var server = await env.StartServerAsync();
        var rng = new Random(62);

        var transfer = TcpTestEnv.Client().GetAsync(server.Url("f.bin"), Path.Combine(env.Local, "f.bin"), TcpTestEnv.Options(4), TcpTestEnv.Progress(), default);
        var attacks = Enumerable.Range(0, 30).Select(async i =>
        {
            using var peer = await RawTcpPeer.ConnectAsync(server.Port);
            var junk = new byte[rng.Next(1, 70_000)];
            lock (rng)
            {
                rng.NextBytes(junk);
            }

            if (i % 3 == 1)
            {
                // Valid preamble, garbage frames.
                junk = [.. RawTcpPeer.Preamble(i % 2 == 0 ? TcpConnectionKind.Control : TcpConnectionKind.Data), .. junk];
            }
            else if (i % 3 == 2)
            {
                junk = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            }

            await peer.TrySendAsync(junk);
            return await peer.ReadUntilClosedAsync(s_closeBound);
        }).ToList();

        var answers = await Task.WhenAll(attacks).WaitAsync(TcpTestEnv.Bound);
        await transfer.WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Local, "f.bin")));
        var http = RawTcpPeer.ParseError(answers[2]);
        Assert.NotNull(http);
        Assert.Equal(TcpErrorCode.BadFrame, http.Value.Code);
        Assert.Contains("not a ferry", http.Value.Message);
        Assert.False(server.Run.IsCompleted);
    }

    [Theory]
    [InlineData(TcpConnectionKind.Control, TcpFrameType.Open, 0xFFFF_FFF0u)]
    [InlineData(TcpConnectionKind.Control, TcpFrameType.Open, 0x8000_0000u)]
    [InlineData(TcpConnectionKind.Control, TcpFrameType.Open, 5000u)]          // just above the path limit
    [InlineData(TcpConnectionKind.Data, TcpFrameType.Join, 0x7FFF_FFFFu)]
    [InlineData(TcpConnectionKind.Data, TcpFrameType.Data, 0xFFFF_FFFFu)]     // DATA before JOIN, huge
    [InlineData(TcpConnectionKind.Control, (TcpFrameType)0x66, 10u)]          // unknown type
    public async Task HugeOrWrongHeader_GetsBadFrame_WithoutReadingThePayload(TcpConnectionKind kind, TcpFrameType type, uint length)
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        using var peer = await RawTcpPeer.ConnectAsync(server.Port);

        await peer.SendAsync(RawTcpPeer.Preamble(kind), RawTcpPeer.Header(type, length));
        var answer = await peer.ReadUntilClosedAsync(s_closeBound);

        var error = RawTcpPeer.ParseError(answer);
        Assert.NotNull(error);
        Assert.Equal(TcpErrorCode.BadFrame, error.Value.Code);
    }

    [Fact]
    public async Task OtherVersion_IsToldSo()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        using var peer = await RawTcpPeer.ConnectAsync(server.Port);
        var preamble = RawTcpPeer.Preamble(TcpConnectionKind.Control);
        preamble[4] = 9;

        await peer.SendAsync(preamble);
        var error = RawTcpPeer.ParseError(await peer.ReadUntilClosedAsync(s_closeBound));

        Assert.NotNull(error);
        Assert.Equal(TcpErrorCode.UnsupportedVersion, error.Value.Code);
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../b")]
    [InlineData("bad\u0001name")]
    public async Task OpenWithEscapingPath_IsRefusedAsInvalidPath(string path)
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        using var peer = await RawTcpPeer.ConnectAsync(server.Port);
        var open = new TcpOpenRequest(TcpOperation.Get, path, 1, 0, null);
        var frame = new byte[open.FrameLength];
        open.Write(frame);

        await peer.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Control), frame);
        var error = RawTcpPeer.ParseError(await peer.ReadUntilClosedAsync(s_closeBound));

        Assert.NotNull(error);
        Assert.Equal(TcpErrorCode.InvalidPath, error.Value.Code);
    }

    [Fact]
    public async Task SessionsPerAddress_AreCapped_AndFreedWhenASessionEnds()
    {
        await using var env = new TcpTestEnv();
        TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 1000, seed: 81);
        var server = await env.StartServerAsync(maxSessionsPerAddress: 2);
        var open = new TcpOpenRequest(TcpOperation.Get, "f.bin", 1, 0, null);
        var frame = new byte[open.FrameLength];
        open.Write(frame);

        async Task<RawTcpPeer> OpenAsync()
        {
            var peer = await RawTcpPeer.ConnectAsync(server.Port);
            await peer.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Control), frame);
            return peer;
        }

        using var first = await OpenAsync();
        using var second = await OpenAsync();
        Assert.Equal(TcpFrameType.Accept, (await first.ReadFrameAsync(TcpTestEnv.Bound)).Type);
        Assert.Equal(TcpFrameType.Accept, (await second.ReadFrameAsync(TcpTestEnv.Bound)).Type);

        using (var third = await OpenAsync())
        {
            var error = RawTcpPeer.ParseError(await third.ReadUntilClosedAsync(s_closeBound));
            Assert.NotNull(error);
            Assert.Equal(TcpErrorCode.ServerBusy, error.Value.Code);
        }

        first.Dispose();
        var deadline = DateTime.UtcNow + TcpTestEnv.Bound;
        while (server.Listener.SessionCount > 1 && DateTime.UtcNow < deadline)
        {
            await Task.Yield();
        }

        using var fourth = await OpenAsync();
        Assert.Equal(TcpFrameType.Accept, (await fourth.ReadFrameAsync(TcpTestEnv.Bound)).Type);
    }

    [Fact]
    public async Task JoinOfAnUnknownSession_IsRefused()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        using var peer = await RawTcpPeer.ConnectAsync(server.Port);
        var join = new byte[TcpSmallFrames.JoinFrameLength];
        TcpSmallFrames.WriteJoin(join, new TcpSessionId(1, 2), 0);

        await peer.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Data), join);
        var error = RawTcpPeer.ParseError(await peer.ReadUntilClosedAsync(s_closeBound));

        Assert.NotNull(error);
        Assert.Equal(TcpErrorCode.UnknownSession, error.Value.Code);
    }

    [Theory]
    [InlineData(0L, 0x7FFF_FFF0u)]                    // a DATA header claiming ~2 GiB: refused before reading it
    [InlineData(10L * TcpTestEnv.BlockSize, 1000u)]   // offset past the end of the file
    [InlineData(100L, (uint)TcpTestEnv.BlockSize)]    // crosses a block boundary
    public async Task BadDataFrame_InARealSession_GetsBadFrame_AndTheSessionSurvives(long offset, uint dataLength)
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        long size = 4 * TcpTestEnv.BlockSize;

        // A hand-made PUT session: OPEN, ACCEPT, then a data connection with a bad DATA frame.
        using var control = await RawTcpPeer.ConnectAsync(server.Port);
        var open = new TcpOpenRequest(TcpOperation.Put, "raw.bin", 2, size, null);
        var openFrame = new byte[open.FrameLength];
        open.Write(openFrame);
        await control.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Control), openFrame);
        var accept = await control.ReadFrameAsync(TcpTestEnv.Bound);
        Assert.Equal(TcpFrameType.Accept, accept.Type);
        Assert.Equal(TcpDecodeStatus.Ok, TcpAcceptReply.TryRead(accept.Payload, out var reply));

        using var data = await RawTcpPeer.ConnectAsync(server.Port);
        var join = new byte[TcpSmallFrames.JoinFrameLength];
        TcpSmallFrames.WriteJoin(join, reply!.SessionId, 1);
        await data.SendAsync(RawTcpPeer.Preamble(TcpConnectionKind.Data), join);
        Assert.Equal(TcpFrameType.Joined, (await data.ReadFrameAsync(TcpTestEnv.Bound)).Type);
        var offsetBytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(offsetBytes, offset);
        await data.SendAsync(RawTcpPeer.Header(TcpFrameType.Data, 8 + dataLength), offsetBytes);
        await data.TrySendAsync(new byte[Math.Min(dataLength, 4096)]);

        var error = RawTcpPeer.ParseError(await data.ReadUntilClosedAsync(s_closeBound));
        Assert.NotNull(error);
        Assert.Equal(TcpErrorCode.BadFrame, error.Value.Code);
        Assert.Equal(0, server.Listener.Counters.DataBytesReceived);
        Assert.Equal(1, server.Listener.SessionCount);   // the session itself survives a bad stream
    }

    [Fact]
    public async Task Slowloris_IsDroppedAtTheHandshakeDeadline_AndDoesNotBlockOthers()
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 30 * TcpTestEnv.BlockSize, seed: 71);
        var server = await env.StartServerAsync(handshakeTimeout: TimeSpan.FromSeconds(2));
        var preamble = RawTcpPeer.Preamble(TcpConnectionKind.Control);
        using var stop = new CancellationTokenSource();

        // Twenty peers, each dribbling a valid preamble at one byte per second: they would need 8 s to finish it.
        var slow = new List<(RawTcpPeer Peer, Task<int> Sent)>();
        for (int i = 0; i < 20; i++)
        {
            var peer = await RawTcpPeer.ConnectAsync(server.Port);
            slow.Add((peer, DribbleAsync(peer, preamble, stop.Token)));
        }

        try
        {
            // A real transfer runs meanwhile, both directions.
            string dest = Path.Combine(env.Local, "f.bin");
            await TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(4), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);
            await TcpTestEnv.Client().SendAsync(dest, server.Url("g.bin"), TcpTestEnv.Options(4), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);
            Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Root, "g.bin")));

            // Every dribbler is cut off before it could complete its preamble.
            foreach (var (peer, sent) in slow)
            {
                var answer = await peer.ReadUntilClosedAsync(s_closeBound);
                var error = RawTcpPeer.ParseError(answer);
                Assert.True(error is null || error.Value.Code == TcpErrorCode.HandshakeTimeout, $"unexpected answer {error}");
                await stop.CancelAsync();
                int bytes = await sent.WaitAsync(TcpTestEnv.Bound);
                Assert.True(bytes < preamble.Length, $"slowloris got {bytes} bytes in before being dropped");
            }
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var (peer, _) in slow)
            {
                peer.Dispose();
            }
        }

        Assert.False(server.Run.IsCompleted);
    }

    [Fact]
    public async Task SilentConnections_BeyondThePerAddressLimit_AreRefused_AndTheRestAreDropped()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync(handshakeTimeout: TimeSpan.FromSeconds(2));
        var peers = new List<RawTcpPeer>();
        try
        {
            int refusedAtConnect = 0;
            for (int i = 0; i < 80; i++)
            {
                try
                {
                    peers.Add(await RawTcpPeer.ConnectAsync(server.Port));
                }
                catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset)
                {
                    refusedAtConnect++;   // reset so fast that connect itself saw it: refused over the limit
                }
            }

            // All of them end: those over the per-address limit (64) at once, the others at the deadline.
            var closes = peers.Select(p => p.ReadUntilClosedAsync(s_closeBound)).ToList();
            var answers = await Task.WhenAll(closes).WaitAsync(TcpTestEnv.Bound);
            int timedOut = answers.Count(a => RawTcpPeer.ParseError(a)?.Code == TcpErrorCode.HandshakeTimeout);
            Assert.True(timedOut <= 64, $"{timedOut} connections were admitted to the handshake; the per-address limit is 64");
        }
        finally
        {
            foreach (var p in peers)
            {
                p.Dispose();
            }
        }

        // Nothing is left behind in the listener.
        var deadline = DateTime.UtcNow + TcpTestEnv.Bound;
        while (server.Listener.ConnectionCount > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Yield();
        }

        Assert.Equal(0, server.Listener.ConnectionCount);
    }

    private static async Task<int> DribbleAsync(RawTcpPeer peer, byte[] bytes, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        int sent = 0;
        try
        {
            while (sent < bytes.Length && await timer.WaitForNextTickAsync(ct))
            {
                if (!await peer.TrySendAsync([bytes[sent]]))
                {
                    break;
                }

                sent++;
            }
        }
        catch (OperationCanceledException)
        {
        }

        return sent;
    }
}
