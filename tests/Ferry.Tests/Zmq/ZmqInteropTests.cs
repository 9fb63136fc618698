using System.Diagnostics;
using System.Security.Cryptography;
using Ferry.Security;

namespace Ferry.Tests.Zmq;

/// <summary>A client written with python3-zmq (tests/Ferry.Tests/Zmq/interop_upload.py) against the real server.</summary>
public sealed class ZmqInteropTests
{
    [PythonZmqFact]
    public Task Python_dealer_uploads_with_pipelined_chunks_and_every_reply_checks_out() => RunAsync(curve: false);

    [PythonZmqFact(Curve = true)]
    public Task Python_curve_dealer_with_a_token_uploads_to_a_curve_server_with_access_control() => RunAsync(curve: true);

    private static async Task RunAsync(bool curve)
    {
        string state = Directory.CreateTempSubdirectory("ferry-zmq-py-").FullName;
        var store = new TokenStore(state);
        string? token = curve ? store.Create("py", read: false, write: true, pathPrefix: "py", DateTimeOffset.UtcNow, lifetime: null) : null;
        await using var server = new ZmqServerFixture(curve: curve, access: curve ? new AccessPolicy(store, requireToken: false) : null);
        string script = Path.Combine(AppContext.BaseDirectory, "Zmq", "interop_upload.py");
        Assert.True(File.Exists(script), $"{script} missing (copied to the output by the test project)");
        string src = Path.Combine(server.Root, "..", "interop-src.bin");
        byte[] data = ZmqFrames.Bytes((5 << 20) + 12345, 77);
        await File.WriteAllBytesAsync(src, data);

        var psi = new ProcessStartInfo(PythonZmqFactAttribute.Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { script, server.Endpoint, src, "py/uploaded.bin", (256 << 10).ToString(System.Globalization.CultureInfo.InvariantCulture), "8" })
        {
            psi.ArgumentList.Add(a);
        }

        if (curve)
        {
            psi.ArgumentList.Add(server.CurveKey!);
            psi.ArgumentList.Add(token!);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        string output = (await stdout).Trim();
        Assert.True(p.ExitCode == 0, $"python client failed: {output} {await stderr}");
        Assert.Equal("OK " + Convert.ToHexStringLower(SHA256.HashData(data)), output);
        Assert.Equal(data, await File.ReadAllBytesAsync(server.PathOf("py/uploaded.bin")));
        Assert.Equal(data, await File.ReadAllBytesAsync(server.PathOf("py/uploaded.bin.req")));
        Assert.Empty(server.TempFiles());
        Directory.Delete(state, recursive: true);
    }
}
