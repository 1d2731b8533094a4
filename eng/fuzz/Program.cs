using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Tokenization;
using SharpFuzz;

// One afl++ target per run: afl-fuzz starts this process once and feeds it inputs through SharpFuzz's fork server.
// The documented exceptions are the expected way to refuse a file; anything else escapes and afl++ records a crash.
string target = args.Length == 1 ? args[0] : "";
string scratch = Path.Combine(Path.GetTempPath(), $"modelgen-fuzz-{Environment.ProcessId}.gguf");
Action<Stream>? run = target switch
{
    "reader" => input =>
    {
        var bytes = ReadAll(input);
        Refusing(() => GgufReader.ReadHeader(new MemoryStream(bytes, writable: false), "input.gguf"));
        Refusing(() => GgufReader.ReadHeader(new MemoryStream(bytes, writable: false), "input.gguf", GgufReadOptions.HeaderOnly));
    },
    "tokenizer" => input =>
    {
        var bytes = ReadAll(input);
        Refusing(() => Tokenizer.FromGguf(GgufReader.ReadHeader(new MemoryStream(bytes, writable: false), "input.gguf").Metadata));
    },
    "loader" => input =>
    {
        File.WriteAllBytes(scratch, ReadAll(input));
        Refusing(() => GenericModel.Load(scratch, new ModelOptions { ContextLength = 8, Threads = 1, BatchSize = 4 }).Dispose());
    },
    _ => null,
};

if (run is null)
{
    Console.Error.WriteLine("usage: ModelGen.Fuzz reader|tokenizer|loader   (run by eng/fuzz.sh under afl-fuzz)");
    return 2;
}

Fuzzer.OutOfProcess.Run(run);
return 0;

static byte[] ReadAll(Stream input)
{
    var copy = new MemoryStream();
    input.CopyTo(copy);
    return copy.ToArray();
}

static void Refusing(Action action)
{
    try
    {
        action();
    }
    catch (Exception e) when (e is GgufFormatException or UnsupportedModelException)
    {
        // A clear refusal is the correct outcome for a bad file.
    }
}
