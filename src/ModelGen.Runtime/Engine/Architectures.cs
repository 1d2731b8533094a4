using ModelGen.Runtime.Engine.Architectures;

namespace ModelGen.Runtime.Engine;

/// <summary>Every architecture the engine and the model compiler run, by <c>general.architecture</c>.</summary>
public static class KnownArchitectures
{
    public static IReadOnlyList<ArchitectureRules> All { get; } = [Llama.Rules, Llama.Qwen2, Llama.Qwen3, Gemma3.Rules, Phi3.Rules, Qwen3Moe.Rules];

    /// <summary>The rules of <paramref name="name"/>, or null when it is not supported.</summary>
    public static ArchitectureRules? Find(string name) => All.FirstOrDefault(a => a.Name == name);
}
