using ModelGen.Kernels.Ops;
using ModelGen.Kernels.Tests.Formats;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

public class RmsNormTests
{
    [Theory]
    [InlineData(64, 1)]
    [InlineData(576, 2)]
    [InlineData(2048, 3)]
    public void AddApply_equals_the_residual_add_then_the_norm_even_writing_over_the_residual(int width, int seed)
    {
        var x = TestData.Floats(width, seed);
        var residual = TestData.Floats(width, seed + 10);
        var weight = TestData.Floats(width, seed + 20);

        var expectedX = x.ToArray();
        Activations.Add(expectedX, residual);
        var expected = new float[width];
        RmsNorm.Apply(expectedX, weight, expected, 1e-5f);

        var actualX = x.ToArray();
        var output = residual.ToArray();
        RmsNorm.AddApply(actualX, output, weight, output, 1e-5f);

        FormatTestData.AssertBitsEqual(expectedX, actualX);
        FormatTestData.AssertBitsEqual(expected, output);
    }

    [Fact]
    public void AddApply_refuses_operands_of_other_lengths()
    {
        var e = Assert.Throws<ArgumentException>(() => RmsNorm.AddApply(new float[8], new float[7], new float[8], new float[8], 1e-5f));
        Assert.Contains("RmsNorm over 8 values needs a residual, a weight and an output of the same length", e.Message);
    }
}
