using ModelGen.Runtime.Benchmarking;
using ModelGen.Runtime.Generation;

namespace ModelGen.Cli.Publishing;

/// <summary>
/// Any <see cref="IForwardPass"/> (the generic engine, a compiled model class) under measurement: prefill in batches of
/// the model's largest, decode through a one-token buffer. Compiled into modelgen and into every published executable.
/// </summary>
internal sealed class ForwardPassEngine(string name, IForwardPass model, IDisposable owner) : IBenchmarkEngine
{
    private readonly int[] _one = new int[1];

    public string Name => name;

    public int VocabularySize => model.VocabularySize;

    public void Prefill(ReadOnlySpan<int> tokens)
    {
        for (int start = 0; start < tokens.Length; start += model.MaxBatch)
        {
            model.Forward(tokens.Slice(start, Math.Min(model.MaxBatch, tokens.Length - start)), start);
        }
    }

    public void Decode(int token, int position)
    {
        _one[0] = token;
        model.Forward(_one, position);
    }

    public void Dispose() => owner.Dispose();
}
