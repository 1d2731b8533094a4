using System.Text;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Tokenization;

/// <summary>
/// llama.cpp's <c>test-tokenizer-0</c>: every string of <c>ggml-vocab-NAME.gguf.inp</c> tokenized without special
/// tokens must give the ids on the same line of <c>.out</c>.
/// </summary>
public sealed class LlamaCppVocabCasesTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Vocabularies.All), MemberType = typeof(Vocabularies))]
    public void Every_case_gives_the_expected_ids(string name)
    {
        var tokenizer = Vocabularies.Get(name).Tokenizer;
        var cases = ReadCases(Vocabularies.PathOf(name));
        Assert.Equal(46, cases.Count);

        var failures = new List<string>();
        foreach (var (text, expected) in cases)
        {
            var actual = new List<int>();
            tokenizer.Tokenize(text, addSpecial: false, parseSpecial: false, actual);
            if (!actual.SequenceEqual(expected))
            {
                failures.Add($"'{Encoding.UTF8.GetString(text)}': expected [{string.Join(' ', expected)}], got [{string.Join(' ', actual)}]");
            }
        }

        output.WriteLine($"{name}: {cases.Count - failures.Count}/{cases.Count} cases match");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    /// <summary>Splits the files as test-tokenizer-0 does: inputs separated by "\n__ggml_vocab_test__\n", one id line each.</summary>
    private static List<(byte[] Text, int[] Ids)> ReadCases(string vocabPath)
    {
        var raw = File.ReadAllBytes(vocabPath + ".inp").AsSpan();
        var separator = "\n__ggml_vocab_test__\n"u8;
        var inputs = new List<byte[]>();
        while (!raw.IsEmpty)
        {
            int next = raw.IndexOf(separator);
            if (next < 0)
            {
                inputs.Add(raw.ToArray());
                break;
            }

            inputs.Add(raw[..next].ToArray());
            raw = raw[(next + separator.Length)..];
        }

        var outputs = File.ReadAllLines(vocabPath + ".out");
        Assert.Equal(inputs.Count, outputs.Length);
        return [.. inputs.Select((text, i) => (text, outputs[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray()))];
    }
}
