using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.TestSupport;

namespace ModelGen.Runtime.Tests.Engine;

/// <summary>
/// Models the engine must refuse at load, in one line naming the file and the key, before allocating anything from
/// the bad value: the same cases the generator refuses with MG0006.
/// </summary>
public sealed class ModelValidationTests(SynthesizedModels models) : IClassFixture<SynthesizedModels>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-validation-").FullName;

    public static TheoryData<string> BadCases => new(BadHyperParameters.Names);

    [Theory]
    [MemberData(nameof(BadCases))]
    public void Bad_hyper_parameters_are_refused_naming_the_key(string name)
    {
        var (_, key, value, problem) = BadHyperParameters.Get(name);
        var path = GgufVariant.WithValue(models.Get("llama", GgmlType.Q8_0), Path.Combine(_directory, $"bad-{name}.gguf"), key, value);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<UnsupportedModelException>(() => GenericModel.Load(path, new ModelOptions { Threads = 1 }));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 64 << 20, "refused before allocating from the bad value");
        Assert.Equal($"bad-{name}.gguf: {problem}", e.Message);
        Assert.Equal(problem, e.Problem);
    }

    [Fact]
    public void The_memory_budget_admits_exactly_what_the_cache_and_buffers_need()
    {
        var path = models.Get("llama", GgmlType.Q8_0);
        using (var probe = GenericModel.Load(path, new ModelOptions { Threads = 1, ContextLength = 256 }))
        {
            long needed = probe.Config.WorkingSetBytes(256, 64);
            Assert.Equal(2L * 5 * 256 * 32 * 2 + 64L * (2 * 64 + 2 * 64 + 2 * 32 + 2 * 192 + probe.VocabularySize) * 4, needed);
            using var fits = GenericModel.Load(path, new ModelOptions { Threads = 1, ContextLength = 256, MemoryBudget = needed });
            var e = Assert.Throws<UnsupportedModelException>(() =>
                GenericModel.Load(path, new ModelOptions { Threads = 1, ContextLength = 256, MemoryBudget = needed - 1 }));
            Assert.Equal($"{Path.GetFileName(path)}: a context of 256 tokens needs {(needed + (1 << 20) - 1) >> 20} MiB for the KV cache and buffers, " +
                         $"over the memory budget of {(needed - 1 + (1 << 20) - 1) >> 20} MiB; ask for a smaller context, or a larger budget", e.Message);
        }
    }

    [Fact]
    public void A_context_too_large_for_memory_is_refused_by_the_default_budget()
    {
        var path = models.Get("llama", GgmlType.Q8_0);
        // 2^25 positions of 32 F16 keys and values in 5 blocks: 20 GiB, more than half of the machines this runs on.
        var e = Assert.Throws<UnsupportedModelException>(() => GenericModel.Load(path, new ModelOptions { Threads = 1, ContextLength = 1 << 25 }));
        Assert.Contains("a context of 33554432 tokens needs 2048", e.Message);
        Assert.Contains(" MiB for the KV cache and buffers, over the memory budget of ", e.Message);

        var overArrays = Assert.Throws<UnsupportedModelException>(() => GenericModel.Load(path, new ModelOptions { Threads = 1, ContextLength = int.MaxValue }));
        Assert.EndsWith("a context of 2147483647 tokens and batches of 64 need buffers larger than .NET arrays can be", overArrays.Message);
    }

    [Fact]
    public void Options_out_of_range_are_refused()
    {
        var path = models.Get("llama", GgmlType.Q8_0);
        Assert.Throws<ArgumentOutOfRangeException>(() => GenericModel.Load(path, new ModelOptions { ContextLength = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => GenericModel.Load(path, new ModelOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => GenericModel.Load(path, new ModelOptions { MemoryBudget = -1 }));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
