using Ferry.Hosting;

namespace Ferry.Cli;

/// <summary>Builds the shared server context and registers every protocol with the host.</summary>
internal static class ServerBootstrap
{
    public static ServerContext CreateContext(ServerOptions options, TextWriter log)
    {
        Directory.CreateDirectory(options.Root);
        Directory.CreateDirectory(options.StateDir);
        var files = ServerContext.CreateFileEngine(options);
        return new ServerContext(options, log, files);
    }

    /// <summary>
    /// Creates <paramref name="path"/> (and its parents) when missing; returns null when it is a usable directory,
    /// otherwise why not, for the user ("--root /srv/x is a file, not a directory").
    /// </summary>
    public static string? PrepareDirectory(string flag, string path)
    {
        if (File.Exists(path))
        {
            return $"{flag} {path} is a file, not a directory";
        }

        try
        {
            Directory.CreateDirectory(path);
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return $"cannot create {flag} {path}: permission denied";
        }
        catch (IOException e)
        {
            for (string? parent = Path.GetDirectoryName(path); parent is not null; parent = Path.GetDirectoryName(parent))
            {
                if (File.Exists(parent))
                {
                    return $"cannot create {flag} {path}: {parent} is a file, not a directory";
                }
            }

            // A parent that is a file, a read-only filesystem, a full disk: the system's words say which.
            return $"cannot create {flag} {path}: {e.Message}";
        }
    }
}
