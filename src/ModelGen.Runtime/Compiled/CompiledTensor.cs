using ModelGen.Gguf;
using ModelGen.Runtime.Engine;

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
        (string Name, object Have, object Want)[] fields =
        [
            (nameof(ModelConfig.Architecture), have.Architecture, want.Architecture),
            (nameof(ModelConfig.EmbeddingLength), have.EmbeddingLength, want.EmbeddingLength),
            (nameof(ModelConfig.LayerCount), have.LayerCount, want.LayerCount),
            (nameof(ModelConfig.HeadCount), have.HeadCount, want.HeadCount),
            (nameof(ModelConfig.KvHeadCount), have.KvHeadCount, want.KvHeadCount),
            (nameof(ModelConfig.HeadDimension), have.HeadDimension, want.HeadDimension),
            (nameof(ModelConfig.FeedForwardLength), have.FeedForwardLength, want.FeedForwardLength),
            (nameof(ModelConfig.VocabularySize), have.VocabularySize, want.VocabularySize),
            (nameof(ModelConfig.ContextLength), have.ContextLength, want.ContextLength),
            (nameof(ModelConfig.RmsEpsilon), have.RmsEpsilon, want.RmsEpsilon),
            (nameof(ModelConfig.RopeBase), have.RopeBase, want.RopeBase),
            (nameof(ModelConfig.RopeFrequencyScale), have.RopeFrequencyScale, want.RopeFrequencyScale),
            (nameof(ModelConfig.RopeDimensions), have.RopeDimensions, want.RopeDimensions),
            (nameof(ModelConfig.RopeStyle), have.RopeStyle, want.RopeStyle),
        ];
        foreach (var (name, h, w) in fields)
        {
            if (!h.Equals(w))
            {
                return $"{name} is {h}, compiled {w}";
            }
        }

        return null;
    }
}
