using System.CommandLine;
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
};
return await root.Parse(args).InvokeAsync();
