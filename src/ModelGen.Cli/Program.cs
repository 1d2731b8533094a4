using System.CommandLine;
using System.CommandLine.Help;
using ModelGen.Cli;
using ModelGen.Cli.Commands;

var root = new RootCommand("ModelGen: compile a GGUF model into C#, run it, and measure it.")
{
    InspectCommand.Create(),
    RunCommand.Create(),
    ChatCommand.Create(),
    TokenizeCommand.Create(),
    LogitsCommand.Create(),
    PerplexityCommand.Create(),
    SynthCommand.Create(),
    QuantizeCommand.Create(),
    BenchCommand.Create(),
    PublishCommand.Create(),
    ServeCommand.Create(),
};
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not HelpAction)
{
    // One line and a hint on stderr, rather than System.CommandLine's list of every error followed by the whole help.
    Console.Error.WriteLine(ParseErrors.Describe(parsed, root));
    return 1;
}

return await parsed.InvokeAsync();
