using ModelGen.LlamaCpp;
using ModelGen.Runtime.Engine;
using ModelGen.TestSupport;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Engine;

/// <summary>The generic engine's logits against llama.cpp's (<c>llama_decode</c>, non-flash attention) on the same file and tokens.</summary>
public sealed class LlamaCppLogitsTests(ITestOutputHelper output)
{
    private const string Prompt = "Once upon a time, there was a little robot who lived in a garden. Every morning it watered the flowers and sang";

    // Tolerances: llama.cpp's own two attention paths differ by about 1.4e-4 (F16) and 2.5e-3 to 4.2e-3 (quantized)
    // on models like these (../shared/docs/REFERENCE.md); we allow that spread with margin.
    [Theory]
    [InlineData("micro-F16.gguf", 1e-3)]
    [InlineData("micro-Q8_0.gguf", 1e-2)]
    [InlineData("micro-Q4_0.gguf", 1e-2)]
    [InlineData("micro-Q4_K_M.gguf", 1e-2)]
    [InlineData("llama-2-tiny-random.gguf", 1e-3)]
    public void Prefill_logits_match_llama_cpp(string file, double tolerance)
    {
        var path = Path.Combine(SharedData.Models, file);
        using var model = GenericModel.Load(path, new ModelOptions { ContextLength = 256, Threads = 2 });
        var tokens = model.Generator.TokenizePrompt(Prompt);
        var ours = model.EvaluateAll(tokens);

        using var reference = LlamaContext.Load(path, contextLength: 256);
        var theirs = reference.Decode(tokens, 0);
        LogitsAgreement.AssertClose(output, $"{file}, {tokens.Length} tokens", ours, theirs, tolerance);
    }
}
