using System.Diagnostics;
using Ferry.Zmq;

namespace Ferry.Tests.Zmq;

/// <summary>The <c>--server-key</c> hint that server and client print for a CURVE key pastes into a shell unchanged.</summary>
public sealed class ZmqServerKeyArgumentTests
{
    /// <summary>Every character a Z85 key may hold, among them <c>&amp; $ &gt; # ( ) * ?</c>.</summary>
    private const string Z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

    [Theory]
    [InlineData(Z85Alphabet)]
    [InlineData("Ke/^EG2Q&FJ#E4hN^Q@s70EmdqOW:A0g-$NxkvPN")]
    [InlineData("*")]
    public async Task The_hint_pasted_into_sh_passes_the_key_as_one_argument(string key)
    {
        string hint = ZmqServerCurveKey.ServerKeyArgument(key);
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("printf '[%s]\\n' " + hint);
        using var sh = Process.Start(psi)!;
        string output = await sh.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await sh.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal($"[--server-key]\n[{key}]\n", output);
    }
}
