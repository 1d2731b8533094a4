using ModelGen.LlamaCpp;
using ModelGen.TestSupport;

namespace ModelGen.Gguf.Tests;

/// <summary>Our reader against libggml's gguf_init_from_file on every reference file.</summary>
public sealed class ReferenceParserTests
{
    public static TheoryData<string> Files() => [.. SharedData.AllGgufFiles.Select(f => Path.GetFileName(f))];

    private static string Locate(string name) => SharedData.AllGgufFiles.Single(f => Path.GetFileName(f) == name);

    [Theory]
    [MemberData(nameof(Files))]
    public void Header_equals_what_ggml_reports(string name)
    {
        var path = Locate(name);
        var ggml = GgufReference.Parse(path);
        Assert.NotNull(ggml);
        using var ours = GgufFile.Open(path);

        Assert.Equal(ggml.Version, ours.Header.Version);
        Assert.Equal(ggml.Alignment, ours.Header.Alignment);
        Assert.Equal(ggml.DataOffset, ours.Header.DataOffset);

        Assert.Equal(ggml.Metadata.Select(m => m.Key), ours.Metadata.Entries.Select(e => e.Key));
        foreach (var ((key, type, expected), entry) in ggml.Metadata.Zip(ours.Metadata.Entries))
        {
            Assert.Equal(type, entry.Value.Type);
            if (expected is Array expectedItems)
            {
                var actual = entry.Value.AsArray()!.Items;
                Assert.Equal(expectedItems.Length, actual.Length);
                Assert.True(ItemsEqual(expectedItems, actual), $"array '{key}' differs");
            }
            else
            {
                Assert.True(GgufValue.FromRaw(type, expected).Equals(entry.Value), $"'{key}': ggml {expected}, ours {entry.Value}");
            }
        }

        Assert.Equal(ggml.Tensors.Count, ours.Tensors.Count);
        foreach (var (expected, actual) in ggml.Tensors.Zip(ours.Tensors))
        {
            Assert.Equal(expected.Name, actual.Name);
            Assert.Equal(expected.Type, actual.Type);
            Assert.Equal(expected.Ne, actual.Shape.Concat(Enumerable.Repeat(1L, 4 - actual.Shape.Count)));
            Assert.Equal(expected.Offset, actual.Offset);
            Assert.Equal(expected.Size, actual.ByteLength);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Header_only_read_agrees_with_full_read(string name)
    {
        var path = Locate(name);
        var full = GgufReader.ReadHeader(path);
        var headerOnly = GgufReader.ReadHeader(path, GgufReadOptions.HeaderOnly);

        Assert.Equal(full.DataOffset, headerOnly.DataOffset);
        Assert.Equal(full.Tensors, headerOnly.Tensors);
        Assert.Equal(full.Metadata.Entries.Select(e => e.Value), headerOnly.Metadata.Entries.Select(e => e.Value));
        var tokens = headerOnly.Metadata.GetArray("tokenizer.ggml.tokens");
        Assert.False(tokens.IsMaterialized);
        Assert.Equal(full.Metadata.GetArray("tokenizer.ggml.tokens").Count, tokens.Count);
        Assert.Equal(full.Metadata.GetStringArray("tokenizer.ggml.tokens").Take(GgufArray.PreviewLength), (string[])tokens.Preview);
        Assert.Throws<InvalidOperationException>(() => tokens.Items);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Writing_what_was_read_reproduces_the_file(string name)
    {
        var path = Locate(name);
        using var file = GgufFile.Open(path);
        var writer = new GgufWriter().AddAll(file.Metadata);
        foreach (var t in file.Tensors)
        {
            writer.AddTensor(t.Name, t.Type, [.. t.Shape], file.GetData(t).ToArray());
        }

        var copy = new MemoryStream();
        writer.Write(copy);
        var original = File.ReadAllBytes(path);

        // llama.cpp's writers produce the canonical layout, so every reference file is reproduced exactly.
        Assert.Equal(original.Length, copy.Length);
        Assert.True(original.AsSpan().SequenceEqual(copy.ToArray()), $"{name}: first difference at byte {FirstDifference(original, copy.ToArray())}");
    }

    private static int FirstDifference(byte[] a, byte[] b) => a.AsSpan().CommonPrefixLength(b);

    private static bool ItemsEqual(Array expected, Array actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (!GgufValue.ScalarEquals(expected.GetValue(i)!, actual.GetValue(i)!))
            {
                return false;
            }
        }

        return true;
    }
}
