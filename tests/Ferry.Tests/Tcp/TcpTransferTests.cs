using Ferry.Transfers;

namespace Ferry.Tests.Tcp;

/// <summary>Downloads and uploads through the real listener and client on 127.0.0.1.</summary>
public sealed class TcpTransferTests
{
    public static TheoryData<int, long> Shapes => new()
    {
        { 1, (10 * TcpTestEnv.BlockSize) + 777 },      // one stream, block count not a multiple of anything
        { 3, (10 * TcpTestEnv.BlockSize) + 12345 },    // 11 blocks over 3 streams: not divisible
        { 64, (150 * TcpTestEnv.BlockSize) + 1 },      // 64 streams, all busy
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Download_IsByteIdentical(int streams, long size)
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "d", "file.bin"), size, seed: streams);
        var server = await env.StartServerAsync();
        string dest = Path.Combine(env.Local, "copy.bin");

        var result = await TcpTestEnv.Client().GetAsync(server.Url("d/file.bin"), dest, TcpTestEnv.Options(streams), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, await File.ReadAllBytesAsync(dest));
        Assert.Equal(TcpTestEnv.Sha256Hex(data), result.Sha256Hex);
        Assert.Equal(size, result.Bytes);
        Assert.Equal(streams, result.Stats["streams"]);
        Assert.Equal(size, result.Stats["bytes_received"]);
        Assert.Empty(Directory.GetFiles(env.Local, "*.ferry-*"));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Upload_IsByteIdentical(int streams, long size)
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Local, "src.bin");
        var data = TcpTestEnv.WriteRandom(src, size, seed: 100 + streams);
        var server = await env.StartServerAsync();

        var result = await TcpTestEnv.Client().SendAsync(src, server.Url("up/dir/file.bin"), TcpTestEnv.Options(streams), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Root, "up", "dir", "file.bin")));
        Assert.Equal(TcpTestEnv.Sha256Hex(data), result.Sha256Hex);
        Assert.Equal(streams, result.Stats["streams"]);
        Assert.Equal(size, result.Stats["bytes_sent"]);
        Assert.Equal(size, server.Listener.Counters.DataBytesReceived);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(TcpTestEnv.BlockSize)]
    public async Task FileOfAtMostOneBlock_UsesOneStream_BothWays(int size)
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "small.bin"), size, seed: 7);
        var server = await env.StartServerAsync();
        string dest = Path.Combine(env.Local, "small.bin");

        var get = await TcpTestEnv.Client().GetAsync(server.Url("small.bin"), dest, TcpTestEnv.Options(8), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);
        var put = await TcpTestEnv.Client().SendAsync(dest, server.Url("small-again.bin"), TcpTestEnv.Options(8), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(data, await File.ReadAllBytesAsync(dest));
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Root, "small-again.bin")));
        Assert.Equal(1, get.Stats["streams"]);
        Assert.Equal(1, put.Stats["streams"]);
    }

    [Fact]
    public async Task EmptyFile_BothWays()
    {
        await using var env = new TcpTestEnv();
        await File.WriteAllBytesAsync(Path.Combine(env.Root, "empty"), []);
        var server = await env.StartServerAsync();
        string dest = Path.Combine(env.Local, "empty");

        var get = await TcpTestEnv.Client().GetAsync(server.Url("empty"), dest, TcpTestEnv.Options(4), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);
        var put = await TcpTestEnv.Client().SendAsync(dest, server.Url("sub/empty2"), TcpTestEnv.Options(4), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        const string emptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        Assert.Equal(emptySha, get.Sha256Hex);
        Assert.Equal(emptySha, put.Sha256Hex);
        Assert.Equal(0, new FileInfo(dest).Length);
        Assert.Equal(0, new FileInfo(Path.Combine(env.Root, "sub", "empty2")).Length);
        Assert.Equal(0, get.Stats["streams"]);
    }

    [Fact]
    public async Task ServerCapsStreams_AtMaxStreams()
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 20 * TcpTestEnv.BlockSize, seed: 3);
        var server = await env.StartServerAsync(maxStreams: 2);
        string dest = Path.Combine(env.Local, "f.bin");

        var result = await TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(16), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);

        Assert.Equal(2, result.Stats["streams"]);
        Assert.Equal(data, await File.ReadAllBytesAsync(dest));
    }

    [Fact]
    public async Task RefusedPaths_ExitWithRefused()
    {
        await using var env = new TcpTestEnv();
        Directory.CreateDirectory(Path.Combine(env.Root, "adir"));
        await File.WriteAllTextAsync(Path.Combine(env.Dir, "outside.txt"), "secret");
        File.CreateSymbolicLink(Path.Combine(env.Root, "escape"), Path.Combine(env.Dir, "outside.txt"));
        await File.WriteAllTextAsync(Path.Combine(env.Root, "exists.txt"), "x");
        string local = Path.Combine(env.Local, "l.bin");
        TcpTestEnv.WriteRandom(local, 100, 1);
        var server = await env.StartServerAsync();
        var client = TcpTestEnv.Client();

        async Task<TransferException> Refused(Func<Task> action)
        {
            var e = await Assert.ThrowsAsync<TransferException>(() => action().WaitAsync(TcpTestEnv.Bound));
            Assert.Equal(ExitCode.Refused, e.Code);
            return e;
        }

        var notFound = await Refused(() => client.GetAsync(server.Url("missing.bin"), Path.Combine(env.Local, "a"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default));
        Assert.Contains("not found", notFound.Message);
        await Refused(() => client.GetAsync(server.Url("adir"), Path.Combine(env.Local, "b"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default));
        var escape = await Refused(() => client.GetAsync(server.Url("escape"), Path.Combine(env.Local, "c"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default));
        Assert.DoesNotContain("secret", escape.Message);
        await Refused(() => client.SendAsync(local, server.Url("escape"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default));
        await Refused(() => client.SendAsync(local, server.Url("adir"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default));
        var exists = await Refused(() => client.SendAsync(local, server.Url("exists.txt"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default));
        Assert.Contains("exists", exists.Message);

        Assert.Equal("secret", await File.ReadAllTextAsync(Path.Combine(env.Dir, "outside.txt")));
        Assert.Equal("x", await File.ReadAllTextAsync(Path.Combine(env.Root, "exists.txt")));
        Assert.False(File.Exists(Path.Combine(env.Local, "a")));
    }

    [Fact]
    public async Task ExistingLocalDestination_IsNotOverwritten_UnlessAsked()
    {
        await using var env = new TcpTestEnv();
        var data = TcpTestEnv.WriteRandom(Path.Combine(env.Root, "f.bin"), 5000, seed: 9);
        var server = await env.StartServerAsync();
        string dest = Path.Combine(env.Local, "f.bin");
        await File.WriteAllTextAsync(dest, "mine");

        var e = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(2), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));
        Assert.Equal(ExitCode.LocalIo, e.Code);
        Assert.Equal("mine", await File.ReadAllTextAsync(dest));

        await TcpTestEnv.Client().GetAsync(server.Url("f.bin"), dest, TcpTestEnv.Options(2, overwrite: true), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound);
        Assert.Equal(data, await File.ReadAllBytesAsync(dest));
    }

    [Fact]
    public async Task ConcurrentUploadOfTheSamePath_IsRefused_AndTheFirstCompletes()
    {
        await using var env = new TcpTestEnv();
        string src = Path.Combine(env.Local, "src.bin");
        var data = TcpTestEnv.WriteRandom(src, 8 * TcpTestEnv.BlockSize, seed: 11);
        var server = await env.StartServerAsync();
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hooks = new Ferry.Tcp.TcpTestHooks
        {
            BeforeSendItem = async (stream, item, ct) =>
            {
                holding.TrySetResult();
                await release.Task.WaitAsync(ct);
                return true;
            },
        };

        var first = TcpTestEnv.Client(hooks).SendAsync(src, server.Url("same.bin"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default);
        await holding.Task.WaitAsync(TcpTestEnv.Bound);

        var second = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().SendAsync(src, server.Url("same.bin"), TcpTestEnv.Options(2), TcpTestEnv.Progress(), default).WaitAsync(TcpTestEnv.Bound));
        Assert.Equal(ExitCode.Refused, second.Code);
        Assert.Contains("being uploaded", second.Message);

        release.SetResult();
        await first.WaitAsync(TcpTestEnv.Bound);
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(env.Root, "same.bin")));
    }

    [Fact]
    public async Task ZeroStreams_IsAUsageError()
    {
        await using var env = new TcpTestEnv();
        var server = await env.StartServerAsync();
        var e = await Assert.ThrowsAsync<TransferException>(() => TcpTestEnv.Client().GetAsync(server.Url("x"), Path.Combine(env.Local, "x"), TcpTestEnv.Options(0), TcpTestEnv.Progress(), default));
        Assert.Equal(ExitCode.Usage, e.Code);
    }
}
