using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using TinyStory;

// The model class was compiled from models/modelgen-fortunes.gguf: its shapes are constants, its forward pass is code.
// The default model is tiny and has read only fortune cookies; compile a real GGUF the same way for better text.
var path = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "modelgen-fortunes.gguf");
var prompt = args.Length > 1 ? args[1] : "Once upon a time";

using var model = TinyModel.Load(path);
Console.WriteLine($"{TinyModel.ModelName}: {TinyModel.LayerCount} blocks, {TinyModel.EmbeddingLength} wide, {TinyModel.VocabularySize} tokens");

var options = new GenerationOptions { MaxTokens = 32, Sampling = SamplingOptions.Greedy };
Console.Write(prompt);
await foreach (var piece in model.GenerateAsync(prompt, options))
{
    Console.Write(piece);
}

Console.WriteLine();
