using System.Security.Cryptography;
using Ferry.Protocol.Security;

namespace Ferry.Security;

/// <summary>
/// The server's long-term key, kept in <c>server-key.pem</c> (PKCS#8, mode 0600) under the state directory and
/// created on first start. Every encrypted protocol of one server presents this key.
/// </summary>
public static class ServerIdentity
{
    public const string FileName = "server-key.pem";

    /// <summary>Loads the key from <paramref name="stateDir"/>, creating it when absent; <paramref name="created"/> says which.</summary>
    public static ServerKeyPair LoadOrCreate(string stateDir, out bool created)
    {
        string path = Path.Combine(stateDir, FileName);
        created = false;
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(stateDir);
            using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            string pem = fresh.ExportPkcs8PrivateKeyPem();
            string temp = path + $".{Environment.ProcessId}.tmp";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(pem);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            try
            {
                // No replace: two servers starting at once on one state directory agree on the first key written.
                File.Move(temp, path, overwrite: false);
                created = true;
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temp);
            }
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            return new ServerKeyPair(key);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new InvalidDataException($"{path} is not a P-256 private key in PEM form ({e.Message}); move it away to create a new key", e);
        }
    }
}
