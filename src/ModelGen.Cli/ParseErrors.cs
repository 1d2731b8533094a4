using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using ModelGen.Gguf;

namespace ModelGen.Cli;

/// <summary>A command line that does not parse, told in one line: the first real mistake and where help is.</summary>
internal static class ParseErrors
{
    /// <summary>
    /// <c>modelgen run: unrecognized option '--temperature' (see 'modelgen run --help')</c>. An unknown token is
    /// reported before anything else, because the errors after it (a value taken for an argument, a required option
    /// seemingly missing) are its consequences.
    /// </summary>
    public static string Describe(ParseResult parsed, RootCommand root)
    {
        var command = parsed.CommandResult.Command;
        var name = command == root ? "modelgen" : $"modelgen {command.Name}";
        var message = FirstUnknownToken(parsed) switch
        {
            { Length: > 1 } token when token.StartsWith('-') => $"unrecognized option '{token}'",
            { } token when command == root => $"unknown command '{token}'",
            { } token => $"unexpected argument '{token}'",
            null when command == root && parsed.Tokens.Count == 0 => "give a command",
            null => parsed.Errors[0].Message,
        };
        return $"{name}: {DisplayText.Escape(message)} (see '{name} --help')";
    }

    /// <summary>
    /// The first token the parser could not place, or that it took for an argument though it looks like an option
    /// (<c>run --temperature 0.5</c> takes <c>--temperature</c> for MODEL, leaving <c>0.5</c> unmatched).
    /// </summary>
    private static string? FirstUnknownToken(ParseResult parsed)
    {
        var unknown = parsed.UnmatchedTokens.ToHashSet(StringComparer.Ordinal);
        foreach (var argument in parsed.CommandResult.Children.OfType<ArgumentResult>())
        {
            unknown.UnionWith(argument.Tokens.Select(t => t.Value).Where(v => v.Length > 1 && v.StartsWith('-') && !double.TryParse(v, CultureInfo.InvariantCulture, out _)));
        }

        return parsed.Tokens.Select(t => t.Value).FirstOrDefault(unknown.Contains);
    }
}
