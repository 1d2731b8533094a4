using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Compiled;

/// <summary>One tensor of the file a model class was compiled from: the table its <c>Load</c> checks a file against.</summary>
/// <param name="Name">The GGUF tensor name.</param>
/// <param name="Type">Its storage format.</param>
/// <param name="Shape">Its dimensions, innermost first.</param>
/// <param name="Offset">Its offset in the data section.</param>
public sealed record CompiledTensor(string Name, GgmlType Type, long[] Shape, long Offset);

/// <summary>Checks that a file is one a compiled model class can run: the code generator's counterpart at load time.</summary>
public static class CompiledModelFile
{
    /// <summary>
    /// Checks <paramref name="file"/> as <see cref="Verify"/> does, and the memory the model's cache and buffers need
    /// against <paramref name="memoryBudget"/> (0: <see cref="MemoryBudget.Default"/>) for <paramref name="sequences"/>
    /// sequences, builds its tokenizer, and hands both to <paramref name="create"/>. The model owns the file from here
    /// on; if a check fails, it is disposed.
    /// </summary>
    /// <exception cref="UnsupportedModelException">The file is not the compiled model, or the model is over the memory budget.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Threads or sequences are out of range.</exception>
    public static TModel Load<TModel>(GgufFile file, ModelConfig compiled, IReadOnlyList<CompiledTensor> tensors, int cacheLength, int maxBatch,
        long memoryBudget, int sequences, string className, Func<Tokenizer, TModel> create)
    {
        try
        {
            if (sequences < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(sequences), sequences, "a model holds at least one sequence");
            }

            Verify(file, compiled, tensors, className);
            var source = Path.GetFileName(file.Path);
            MemoryBudget.Check(compiled, cacheLength, maxBatch, memoryBudget, source, sequences);
            var tokenizer = Tokenizer.FromGguf(file.Metadata);
            if (tokenizer.VocabularySize != compiled.VocabularySize)
            {
                throw new UnsupportedModelException($"{source}: the vocabulary has {tokenizer.VocabularySize} tokens, compiled {compiled.VocabularySize}");
            }

            return create(tokenizer);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Throws <see cref="UnsupportedModelException"/> naming the first difference between <paramref name="file"/> and
    /// what the class was compiled from: a hyper-parameter, or a tensor's name, type, shape or offset. Metadata that
    /// the compiled code does not depend on (the name, the vocabulary) may differ.
    /// </summary>
    public static void Verify(GgufFile file, ModelConfig compiled, IReadOnlyList<CompiledTensor> tensors, string className)
    {
        var source = Path.GetFileName(file.Path);
        var config = ModelConfig.FromMetadata(file.Metadata, source);
        string? difference = FirstDifference(config with { Name = compiled.Name }, compiled);
        if (difference is not null)
        {
            throw new UnsupportedModelException($"{source} does not match {className}: {difference}");
        }

        var actual = file.Tensors;
        for (int i = 0; i < Math.Min(actual.Count, tensors.Count); i++)
        {
            var (have, want) = (actual[i], tensors[i]);
            difference =
                have.Name != want.Name ? $"tensor {i} is '{have.Name}', compiled '{want.Name}'" :
                have.Type != want.Type ? $"tensor '{have.Name}' is {have.Type.Info().Name}, compiled {want.Type.Info().Name}" :
                !have.Shape.SequenceEqual(want.Shape) ? $"tensor '{have.Name}' has shape [{string.Join(", ", have.Shape)}], compiled [{string.Join(", ", want.Shape)}]" :
                have.Offset != want.Offset ? $"tensor '{have.Name}' is at offset {have.Offset}, compiled {want.Offset}" :
                null;
            if (difference is not null)
            {
                throw new UnsupportedModelException($"{source} does not match {className}: {difference}");
            }
        }

        if (actual.Count != tensors.Count)
        {
            throw new UnsupportedModelException($"{source} does not match {className}: {actual.Count} tensors, compiled {tensors.Count}");
        }
    }

    private static string? FirstDifference(ModelConfig have, ModelConfig want)
    {
        var compiled = want.HyperParameters();
        foreach (var ((name, h), (_, w)) in have.HyperParameters().Zip(compiled))
        {
            if (!h.Equals(w))
            {
                return $"{name} is {h}, compiled {w}";
            }
        }

        return null;
    }
}
