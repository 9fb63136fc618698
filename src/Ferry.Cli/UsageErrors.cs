using System.CommandLine;
using System.CommandLine.Parsing;
using Ferry.Cli.Output;
using Ferry.Transfers;

namespace Ferry.Cli;

/// <summary>
/// Reports a command line the parser refused, as git and curl do: exit code 2, one line naming the bad argument, the
/// command's usage line and where the full help is (never the whole help, never a .NET type name). With
/// <c>--json</c> on the command line, an <c>error</c> event on stdout says the same, and nothing else goes there.
/// </summary>
internal static class UsageErrors
{
    public static int Report(ParseResult parse, IReadOnlyList<string> args)
    {
        var command = parse.CommandResult;
        string path = CommandPath(command);
        string what = Describe(parse);
        string usage = Usage(command.Command, path);
        if (args.Contains("--json"))
        {
            Console.Out.WriteLine(JsonLine.Format(new Dictionary<string, object?>
            {
                ["event"] = "error",
                ["exit_code"] = (int)ExitCode.Usage,
                ["kind"] = "usage",
                ["message"] = $"{what}; usage: {usage}; see '{path} --help'",
            }));
        }

        Console.Error.WriteLine($"{path}: {what}");
        Console.Error.WriteLine($"usage: {usage}   (more: {path} --help)");
        return (int)ExitCode.Usage;
    }

    /// <summary>What is wrong, naming the argument: the first of an unknown token, a missing value, a bad value.</summary>
    internal static string Describe(ParseResult parse)
    {
        var command = parse.CommandResult;
        if (parse.UnmatchedTokens.Count > 0)
        {
            string token = parse.UnmatchedTokens[0];
            if (command.Command.Subcommands.Count > 0 && !token.StartsWith('-'))
            {
                return $"unknown command '{token}' (commands: {string.Join(", ", command.Command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))})";
            }

            if (token.StartsWith('-'))
            {
                return $"unknown option '{token}'";
            }

            // "ferry send a.bin b.bin URL": say what the command takes, since the extra one may not be the last.
            var arguments = command.Command.Arguments.Where(a => !a.Hidden).Select(a => $"<{a.Name}>").ToList();
            return arguments.Count > 0
                ? $"extra argument '{token}' ({CommandPath(command)} takes {string.Join(' ', arguments)})"
                : $"unexpected argument '{token}'";
        }

        // "ferry send --overwrite": an option of another command is taken as a value of an argument.
        if (OptionTakenAsArgument(parse) is { } option)
        {
            return $"unknown option '{option}'";
        }

        foreach (var error in parse.Errors)
        {
            if (error.SymbolResult is { } symbol && BadValue(symbol) is { } bad)
            {
                return bad;
            }
        }

        var missing = command.Command.Arguments
            .Where(a => a.Arity.MinimumNumberOfValues > 0 && command.GetResult(a) is not { Tokens.Count: > 0 })
            .Select(a => $"<{a.Name}>")
            .ToList();
        if (missing.Count > 0)
        {
            return $"missing {string.Join(" and ", missing)}";
        }

        var required = command.Command.Options.FirstOrDefault(o => o.Required && command.GetResult(o) is not { IdentifierTokenCount: > 0 });
        if (required is not null)
        {
            return $"missing {required.Name} (it is required)";
        }

        if (command.Command.Subcommands.Count > 0 && command.Command.Action is null)
        {
            return $"missing a command (one of: {string.Join(", ", command.Command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))})";
        }

        return parse.Errors.Count > 0 ? parse.Errors[0].Message : "invalid command line";
    }

    /// <summary>An option or argument whose value did not convert: says what was expected in words.</summary>
    private static string? BadValue(SymbolResult symbol)
    {
        // Options not on the command line (a required one left out) and missing arguments are reported below.
        var (name, type, tokens) = symbol switch
        {
            OptionResult { IdentifierTokenCount: > 0 } o => (o.Option.Name, o.Option.ValueType, o.Tokens),
            ArgumentResult { Parent: OptionResult { IdentifierTokenCount: > 0 } o } a => (o.Option.Name, o.Option.ValueType, a.Tokens),
            ArgumentResult { Parent: CommandResult, Tokens.Count: > 0 } a => ($"<{a.Argument.Name}>", a.Argument.ValueType, a.Tokens),
            _ => (string.Empty, typeof(void), (IReadOnlyList<Token>)[]),
        };
        if (name.Length == 0)
        {
            return null;
        }

        type = Nullable.GetUnderlyingType(type) ?? type;
        if (tokens.Count == 0)
        {
            return type == typeof(bool) ? null : $"{name} needs a value";
        }

        if (tokens.Count > 1)
        {
            return $"{name} takes one value, not {tokens.Count}";
        }

        string value = tokens[0].Value;
        string? expected = type == typeof(int) || type == typeof(long) ? "a whole number"
            : type == typeof(double) ? "a number"
            : type == typeof(bool) ? "true or false"
            : null;
        if (expected is not null)
        {
            return $"{name}: '{value}' is not {expected}";
        }

        return null;
    }

    /// <summary>"--name" or "-x": not "-" (standard input) nor a negative number.</summary>
    /// <summary>
    /// An unknown option the parser took as the value of an argument ("ferry get URL --bogus" would otherwise
    /// download into a file named "--bogus"); null if none. After "--" every token is an argument, as in getopt.
    /// </summary>
    internal static string? OptionTakenAsArgument(ParseResult parse)
    {
        if (parse.Tokens.Any(t => t.Type == TokenType.DoubleDash))
        {
            return null;
        }

        var command = parse.CommandResult;
        foreach (var argument in command.Command.Arguments)
        {
            if (command.GetResult(argument)?.Tokens.FirstOrDefault(t => LooksLikeOption(t.Value)) is { } option)
            {
                return option.Value;
            }
        }

        return null;
    }

    private static bool LooksLikeOption(string token) =>
        token.StartsWith("--", StringComparison.Ordinal) || (token.Length > 1 && token[0] == '-' && char.IsAsciiLetter(token[1]));

    /// <summary>"ferry token create" for the command that was being parsed.</summary>
    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? r = command; r is not null; r = r.Parent)
        {
            if (r is CommandResult c)
            {
                names.Add(c.Command is RootCommand ? "ferry" : c.Command.Name);
            }
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>The command's usage line, as its help prints it: "ferry send &lt;source&gt; &lt;url&gt; [options]".</summary>
    private static string Usage(Command command, string path)
    {
        var parts = new List<string> { path };
        if (command.Subcommands.Count > 0)
        {
            parts.Add("<command>");
        }

        parts.AddRange(command.Arguments.Where(a => !a.Hidden).Select(a => a.Arity.MinimumNumberOfValues > 0 ? $"<{a.Name}>" : $"[<{a.Name}>]"));
        parts.Add("[options]");
        string usage = string.Join(' ', parts);
        return command.Subcommands.Count > 0
            ? $"{usage}; commands: {string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}"
            : usage;
    }
}
