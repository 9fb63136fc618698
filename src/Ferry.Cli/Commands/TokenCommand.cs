using System.CommandLine;
using System.Globalization;
using Ferry.Security;
using Ferry.Transfers;

namespace Ferry.Cli.Commands;

/// <summary><c>ferry token create|list|revoke</c>: manage a server's access tokens in its state directory.</summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var cmd = new Command("token", "Manage the access tokens of a server (run where the server's state directory is)");
        cmd.Subcommands.Add(CreateSub());
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Revoke());
        return cmd;
    }

    private static (Option<string?> StateDir, Option<string> Root) Location(Command cmd)
    {
        var stateDir = new Option<string?>("--state-dir") { Description = "The server's --state-dir (default: the one 'ferry serve --root ROOT' uses)" };
        var root = new Option<string>("--root") { Description = "The server's --root, to find its default state directory", DefaultValueFactory = _ => "./data" };
        cmd.Options.Add(stateDir);
        cmd.Options.Add(root);
        return (stateDir, root);
    }

    private static string StateDir(ParseResult parse, (Option<string?> StateDir, Option<string> Root) o) =>
        Path.GetFullPath(parse.GetValue(o.StateDir) ?? ServeCommand.DefaultStateDir(Path.GetFullPath(parse.GetValue(o.Root)!)));

    /// <summary>Why <paramref name="state"/> is not an existing server's state directory, or null when it is.</summary>
    private static string? Missing(ParseResult parse, (Option<string?> StateDir, Option<string> Root) o, string state)
    {
        if (Directory.Exists(state))
        {
            return null;
        }

        if (parse.GetValue(o.StateDir) is not null)
        {
            return $"no server state directory at --state-dir {state}";
        }

        string root = Path.GetFullPath(parse.GetValue(o.Root)!);
        return $"no server has run with --root {root}{(Directory.Exists(root) ? string.Empty : " (it does not exist)")}: its state directory {state} does not exist";
    }

    /// <summary>"with state directory S (root R)" as far as the command line tells.</summary>
    private static string Owner(ParseResult parse, (Option<string?> StateDir, Option<string> Root) o, string state) =>
        parse.GetValue(o.StateDir) is not null
            ? $"with --state-dir {state}"
            : $"with --root {Path.GetFullPath(parse.GetValue(o.Root)!)} (state directory {state})";

    private static Command CreateSub()
    {
        var name = new Option<string>("--name") { Description = "A name for the token (who or what uses it)", Required = true };
        var read = new Option<bool>("--read") { Description = "May download files and read relay messages" };
        var write = new Option<bool>("--write") { Description = "May upload files and post relay messages" };
        var path = new Option<string?>("--path") { Description = "Limit to this directory (or file) under the root" };
        var expires = new Option<string?>("--expires") { Description = "Lifetime, e.g. 90m, 12h, 30d (default: never)" };
        var init = new Option<bool>("--init") { Description = "Create the state directory when it does not exist yet (a server that has never run)" };
        var cmd = new Command("create", "Create a token and print it once (only its hash is stored)") { name, read, write, path, expires, init };
        var location = Location(cmd);
        cmd.SetAction(parse =>
        {
            TimeSpan? lifetime = null;
            if (parse.GetValue(expires) is { } e)
            {
                if (!TryParseDuration(e, out var d))
                {
                    Console.Error.WriteLine($"ferry: --expires '{e}' is not a duration like 90m, 12h or 30d");
                    return (int)ExitCode.Usage;
                }

                lifetime = d;
            }

            bool r = parse.GetValue(read), w = parse.GetValue(write);
            if (!r && !w)
            {
                Console.Error.WriteLine("ferry: give --read, --write or both");
                return (int)ExitCode.Usage;
            }

            string state = StateDir(parse, location);
            if (!parse.GetValue(init) && Missing(parse, location, state) is { } missing)
            {
                Console.Error.WriteLine($"ferry: {missing}; check --root / --state-dir, or add --init to create it for a server that has not run yet");
                return (int)ExitCode.LocalIo;
            }

            try
            {
                var store = new TokenStore(state);
                string token = store.Create(parse.GetValue(name)!, r, w, parse.GetValue(path), TimeProvider.System.GetUtcNow(), lifetime);
                Console.Out.WriteLine(token);
                Console.Error.WriteLine($"ferry: token '{parse.GetValue(name)}' stored in {store.Path}; it is shown only now. Clients pass it with --token or FERRY_TOKEN.");
                Console.Error.WriteLine($"ferry: it belongs to the server {Owner(parse, location, state)}");
                return (int)ExitCode.Ok;
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"ferry: {ex.Message}");
                return (int)ExitCode.Usage;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Console.Error.WriteLine($"ferry: {ex.Message}");
                return (int)ExitCode.LocalIo;
            }
        });
        return cmd;
    }

    private static Command List()
    {
        var cmd = new Command("list", "List tokens (names, permissions, paths, expiry; never the tokens)");
        var location = Location(cmd);
        cmd.SetAction(parse =>
        {
            string state = StateDir(parse, location);
            if (Missing(parse, location, state) is { } missing)
            {
                Console.Error.WriteLine($"ferry: {missing}; check --root / --state-dir");
                return (int)ExitCode.LocalIo;
            }

            try
            {
                var store = new TokenStore(state);
                if (store.Tokens.Count == 0)
                {
                    Console.Error.WriteLine($"ferry: no tokens in {store.Path}");
                }

                foreach (var t in store.Tokens)
                {
                    string expiry = t.Expires is { } x ? x.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "never";
                    Console.Out.WriteLine($"{t.Name}\t{t.Permissions}\t{(t.PathPrefix is null ? "/" : t.PathPrefix + "/")}\texpires {expiry}");
                }

                return (int)ExitCode.Ok;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Console.Error.WriteLine($"ferry: {ex.Message}");
                return (int)ExitCode.LocalIo;
            }
        });
        return cmd;
    }

    private static Command Revoke()
    {
        var name = new Argument<string>("name") { Description = "The token's name" };
        var cmd = new Command("revoke", "Delete a token; a running server stops accepting it at once") { name };
        var location = Location(cmd);
        cmd.SetAction(parse =>
        {
            string state = StateDir(parse, location);
            if (Missing(parse, location, state) is { } missing)
            {
                Console.Error.WriteLine($"ferry: {missing}; check --root / --state-dir");
                return (int)ExitCode.LocalIo;
            }

            try
            {
                var store = new TokenStore(state);
                if (!store.Revoke(parse.GetValue(name)!))
                {
                    Console.Error.WriteLine($"ferry: no token named '{parse.GetValue(name)}' in {store.Path}");
                    return (int)ExitCode.Usage;
                }

                Console.Error.WriteLine($"ferry: token '{parse.GetValue(name)}' revoked");
                return (int)ExitCode.Ok;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Console.Error.WriteLine($"ferry: {ex.Message}");
                return (int)ExitCode.LocalIo;
            }
        });
        return cmd;
    }

    /// <summary>"90s", "90m", "12h", "30d" or "2w".</summary>
    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        if (text.Length < 2 || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || n <= 0 || n > 1e6)
        {
            return false;
        }

        TimeSpan? d = char.ToLowerInvariant(text[^1]) switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            'w' => TimeSpan.FromDays(7 * n),
            _ => null,
        };
        duration = d ?? default;
        return d is not null;
    }
}
