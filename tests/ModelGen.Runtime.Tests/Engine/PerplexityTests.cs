using ModelGen.LlamaCpp;
using ModelGen.Runtime.Engine;
using ModelGen.TestSupport;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Engine;

public sealed class PerplexityTests(ITestOutputHelper output)
{
    internal const string Text =
        "The river ran quietly past the old mill, where the miller's daughter kept a small garden of herbs and roses. " +
        "Every spring she planted beans along the fence, and every autumn she gathered seeds in paper envelopes, writing " +
        "the year on each one in careful letters. Travellers who crossed the bridge often stopped to ask for water, and " +
        "she would tell them about the village, the weather, and the fish that hid beneath the stones. One evening a " +
        "stranger arrived with a wooden box under his arm. He said it held a clock that could count the stars, but it " +
        "only ticked when nobody was looking. The daughter laughed, offered him bread and soup, and let him sleep in the " +
        "barn. In the morning the box was open and empty, and the stranger was gone, but the clock on the mill wall had " +
        "started to run again after twenty silent years. ";

    [Fact]
    public void Perplexity_equals_llama_perplexity_logic_on_the_same_file()
    {
        const int ctx = 64;
        var path = Path.Combine(SharedData.Models, "micro-Q8_0.gguf");
        using var model = GenericModel.Load(path, new ModelOptions { ContextLength = ctx, Threads = 2 });
        var tokens = model.Tokenizer.Tokenize(Text + Text, addSpecial: true, parseSpecial: false);
        var ours = Perplexity.Compute(model, tokens, ctx);
        Assert.Equal(tokens.Length / ctx, ours.Chunks);
        Assert.Equal(ours.Chunks * (ctx - ctx / 2 - 1), ours.ScoredTokens);

        // llama-perplexity's procedure, on llama.cpp's own logits.
        using var reference = LlamaContext.Load(path, contextLength: ctx);
        double nll = 0;
        int count = 0;
        for (int c = 0; c < ours.Chunks; c++)
        {
            var chunk = tokens.AsSpan(c * ctx, ctx).ToArray();
            chunk[0] = model.Tokenizer.BosId!.Value;
            reference.Clear();
            var logits = reference.Decode(chunk, 0);
            for (int j = ctx / 2; j < ctx - 1; j++)
            {
                nll -= Perplexity.LogSoftmax(logits.AsSpan(j * reference.VocabularySize, reference.VocabularySize), tokens[c * ctx + j + 1]);
                count++;
            }
        }

        double theirs = Math.Exp(nll / count);
        output.WriteLine($"PPL ours {ours.Value:F6}, llama.cpp {theirs:F6}, {ours.Chunks} chunks, {count} tokens scored");
        Assert.Equal(theirs.ToString("G4"), ours.Value.ToString("G4"));
        Assert.InRange(ours.Value, 1000, 1e6);   // random weights over a 32000-token vocabulary: near-uniform predictions
    }
}
