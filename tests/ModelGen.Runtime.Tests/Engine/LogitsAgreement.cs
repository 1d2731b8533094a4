using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Engine;

/// <summary>Relative RMS error of one logits array against a reference: ‖ours − ref‖₂ / ‖ref‖₂.</summary>
internal static class LogitsAgreement
{
    public static double RelativeRmsError(ReadOnlySpan<float> ours, ReadOnlySpan<float> reference)
    {
        if (ours.Length != reference.Length)
        {
            throw new ArgumentException($"{ours.Length} logits against {reference.Length}");
        }

        double diff = 0, norm = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double d = ours[i] - reference[i];
            diff += d * d;
            norm += (double)reference[i] * reference[i];
        }

        return Math.Sqrt(diff / norm);
    }

    /// <summary>Asserts the error is within <paramref name="tolerance"/>, printing the measurement either way.</summary>
    public static void AssertClose(ITestOutputHelper output, string what, ReadOnlySpan<float> ours, ReadOnlySpan<float> reference, double tolerance)
    {
        double error = RelativeRmsError(ours, reference);
        output.WriteLine($"{what}: relative RMS error {error:E2} (tolerance {tolerance:E0}) over {ours.Length} logits");
        Assert.True(error <= tolerance, $"{what}: relative RMS error {error:E3} exceeds {tolerance:E0}");
    }
}
