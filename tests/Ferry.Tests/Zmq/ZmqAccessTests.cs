using Ferry.Security;
using Ferry.Transfers;
using static Ferry.Tests.Zmq.ZmqFrames;

namespace Ferry.Tests.Zmq;

/// <summary>Access tokens on zmq://: HELLO's optional token frame, checked for write permission, path and expiry.</summary>
public sealed class ZmqAccessTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("ferry-zmq-tokens-").FullName;
    private readonly TokenStore _store;
    private readonly string _writer;
    private readonly string _reader;
    private readonly string _expired;
    private readonly string _limited;

    public ZmqAccessTests()
    {
        _store = new TokenStore(_state);
        var now = DateTimeOffset.UtcNow;
        _writer = _store.Create("writer", read: false, write: true, pathPrefix: null, now, lifetime: null);
        _reader = _store.Create("reader", read: true, write: false, pathPrefix: null, now, lifetime: null);
        _expired = _store.Create("old", read: true, write: true, pathPrefix: null, now - TimeSpan.FromDays(2), TimeSpan.FromDays(1));
        _limited = _store.Create("inbox", read: false, write: true, pathPrefix: "inbox", now, lifetime: null);
    }

    public void Dispose() => Directory.Delete(_state, recursive: true);

    [ZmqFact]
    public async Task Hello_token_frame_allows_and_refuses_by_permission_path_and_expiry()
    {
        await using var server = new ZmqServerFixture(access: new AccessPolicy(_store, requireToken: false));
        using var d = new TestDealer(server.Endpoint);
        const string denied = "ERROR denied: ";

        Assert.Equal(denied + "this server requires an access token: pass --token or set FERRY_TOKEN", d.Call(Hello("anon")));
        Assert.Equal(denied + "this server requires an access token: pass --token or set FERRY_TOKEN", d.Call(Of("HELLO", "anon", string.Empty)));
        Assert.Equal(denied + "the access token was not accepted (unknown or revoked)", d.Call(Of("HELLO", "x", "ferry_nope")));
        Assert.Equal(denied + "the access token 'reader' may not write", d.Call(Of("HELLO", "x", _reader)));
        Assert.StartsWith(denied + "the access token 'old' expired at ", d.Call(Of("HELLO", "x", _expired)), StringComparison.Ordinal);
        Assert.Equal(denied + "the access token 'inbox' is limited to 'inbox/'", d.Call(Of("HELLO", "elsewhere/x", _limited)));
        Assert.Equal(denied + "the access token 'inbox' is limited to 'inbox/'", d.Call(Of("HELLO", "inbox/../x", _limited)));
        Assert.Equal("ERROR token must be printable ASCII without spaces", d.Call(Of("HELLO", "x", "a b")));

        // A refused HELLO set nothing up: CHUNK has no transfer, and no file is held.
        Assert.Equal("ERROR no open transfer of 'x': send HELLO first", d.Call(Chunk("x", 0, new byte[] { 1 })));
        Assert.Equal(0, server.Listener.OpenTransfers);

        Assert.Equal("READY", d.Call(Of("HELLO", "inbox/a.bin", _limited)));
        Assert.Equal("READY", d.Call(Chunk("inbox/a.bin", 0, new byte[] { 1, 2, 3 })));
        Assert.Equal("READY", d.Call(Close("inbox/a.bin", 3)));
        Assert.Equal("READY", d.Call(Of("HELLO", "b.bin", _writer)));
        Assert.Equal("READY", d.Call(Close("b.bin", 0)));
        Assert.Equal(new byte[] { 1, 2, 3 }, await File.ReadAllBytesAsync(server.PathOf("inbox/a.bin")));
        Assert.True(File.Exists(server.PathOf("b.bin")));
        Assert.Contains("PUT x refused: the access token 'reader' may not write", server.Log, StringComparison.Ordinal);

        // Revoking takes effect for the next HELLO without a restart.
        Assert.True(_store.Revoke("writer"));
        Assert.Equal(denied + "the access token was not accepted (unknown or revoked)", d.Call(Of("HELLO", "c.bin", _writer)));
    }

    [ZmqFact]
    public async Task Open_server_accepts_two_frame_hellos_and_empty_token_frames_but_not_unknown_tokens()
    {
        await using var server = new ZmqServerFixture();
        using var d = new TestDealer(server.Endpoint);
        Assert.Equal("READY", d.Call(Hello("seed")));
        Assert.Equal("READY", d.Call(Of("HELLO", "empty-token", string.Empty)));

        // The shared policy: a token that is given must be valid, open server or not.
        Assert.Equal("ERROR denied: the access token was not accepted (unknown or revoked)", d.Call(Of("HELLO", "some-token", "ferry_whatever")));
    }

    [ZmqFact]
    public async Task Require_token_refuses_anonymous_clients_even_without_tokens()
    {
        var empty = new TokenStore(Path.Combine(_state, "none"));
        await using var server = new ZmqServerFixture(access: new AccessPolicy(empty, requireToken: true));
        using var d = new TestDealer(server.Endpoint);
        Assert.Equal("ERROR denied: this server requires an access token: pass --token or set FERRY_TOKEN", d.Call(Hello("x")));
    }

    [ZmqCurveFact]
    public async Task Ferry_client_sends_its_token_over_curve_and_maps_refusals_to_exit_code_3()
    {
        await using var server = new ZmqServerFixture(curve: true, access: new AccessPolicy(_store, requireToken: false));
        string src = await ZmqCurveTests.SmallFile(server);

        var anonymous = await Assert.ThrowsAsync<TransferException>(() => ZmqCurveTests.Send(src, server.Url("t/anon"), server.ClientOptions()));
        Assert.Equal(ExitCode.Refused, anonymous.Code);
        Assert.Equal("server: this server requires an access token: pass --token or set FERRY_TOKEN (Denied)", anonymous.Message);

        var expired = await Assert.ThrowsAsync<TransferException>(() => ZmqCurveTests.Send(src, server.Url("t/old"), server.ClientOptions(token: _expired)));
        Assert.Equal(ExitCode.Refused, expired.Code);
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);

        var readOnly = await Assert.ThrowsAsync<TransferException>(() => ZmqCurveTests.Send(src, server.Url("t/ro"), server.ClientOptions(token: _reader)));
        Assert.Equal(ExitCode.Refused, readOnly.Code);

        await ZmqCurveTests.Send(src, server.Url("t/ok"), server.ClientOptions(token: _writer));
        Assert.Equal(await File.ReadAllBytesAsync(src), await File.ReadAllBytesAsync(server.PathOf("t/ok")));
    }
}
