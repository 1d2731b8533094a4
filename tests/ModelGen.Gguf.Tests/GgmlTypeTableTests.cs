using ModelGen.Gguf;
using ModelGen.LlamaCpp;

namespace ModelGen.Gguf.Tests;

public sealed unsafe class GgmlTypeTableTests
{
    [Fact]
    public void Every_type_id_matches_ggml_type_traits()
    {
        LlamaCppLibrary.EnsureLoaded();
        int known = 0;
        for (uint id = 0; id < 43; id++)
        {
            var traits = GgmlNative.GetTypeTraits((GgmlType)id);
            bool ggmlKnows = traits->BlockSize > 0;
            Assert.Equal(ggmlKnows, GgmlTypes.TryGetInfo(id, out var info));
            if (!ggmlKnows)
            {
                continue;
            }

            known++;
            Assert.Equal(GgmlNative.TypeName((GgmlType)id), info.Name);
            Assert.Equal(traits->BlockSize, info.BlockSize);
            Assert.Equal((long)traits->TypeSize, info.BytesPerBlock);
            Assert.Equal(traits->IsQuantized, info.IsQuantized);
        }

        Assert.Equal(35, known);
        Assert.Equal(known, GgmlTypes.All.Count());
    }

    [Theory]
    [InlineData(GgmlType.Q4_K, 4096, 2304)]
    [InlineData(GgmlType.Q8_0, 64, 68)]
    [InlineData(GgmlType.Q8_0, 63, -1)]
    [InlineData(GgmlType.F16, 7, 14)]
    public void RowBytes_counts_whole_blocks(GgmlType type, long elements, long expected) =>
        Assert.Equal(expected, type.Info().RowBytes(elements));
}
