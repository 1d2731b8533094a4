using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelGen.Kernels.ArmCheck;

/// <summary>FP16 and BF16 conversions, which every path computes exactly: the SIMD path's bits equal the scalar path's.</summary>
internal static class ConversionChecks
{
    public static void Run(Report report)
    {
        // Every FP16 value, odd lengths so that the last vector overlaps.
        var halves = new ushort[ushort.MaxValue + 1];
        for (int i = 0; i < halves.Length; i++)
        {
            halves[i] = (ushort)i;
        }

        Compare<ushort, float>(report, "fp16-to-fp32", halves, (path, source, destination) =>
            FloatConversions.HalfToSingle(path, MemoryMarshal.Cast<ushort, Half>(source), destination));
        Compare<ushort, float>(report, "bf16-to-fp32", halves, FloatConversions.BFloat16ToSingle);

        // Random bits, so NaNs with payloads, infinities, subnormals and values that round to them; then edges.
        var floats = new float[1 << 16];
        new Random(8).NextBytes(MemoryMarshal.AsBytes(floats.AsSpan()));
        float[] edges = [0f, -0f, 65504f, 65520f, 65519.996f, 6.1035156e-5f, 5.9604645e-8f, 2.9802322e-8f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon];
        edges.CopyTo(floats, 0);
        foreach (var nan in Enum.GetValues<HalfNaN>())
        {
            Compare<float, ushort>(report, $"fp32-to-fp16-{nan}", floats, (path, source, destination) =>
                FloatConversions.SingleToHalf(path, source, MemoryMarshal.Cast<ushort, Half>(destination), nan));
        }

        Compare<float, ushort>(report, "fp32-to-bf16", floats, FloatConversions.SingleToBFloat16);
    }

    private delegate void Conversion<TSource, TDestination>(SimdPath path, ReadOnlySpan<TSource> source, Span<TDestination> destination);

    private static void Compare<TSource, TDestination>(Report report, string name, TSource[] source, Conversion<TSource, TDestination> convert)
        where TSource : unmanaged
        where TDestination : unmanaged
    {
        string? failure = null;
        var all = new TDestination[source.Length];
        foreach (int length in new[] { source.Length, source.Length - 1, 7, 13, 3 })
        {
            var expected = new TDestination[length];
            var actual = new TDestination[length];
            convert(SimdPath.Scalar, source.AsSpan(0, length), expected);
            convert(report.Path, source.AsSpan(0, length), actual);
            // Bits, not values: -0 equals 0 and NaN equals NaN as floats.
            int first = MemoryMarshal.AsBytes(expected.AsSpan()).CommonPrefixLength(MemoryMarshal.AsBytes(actual.AsSpan())) / Unsafe.SizeOf<TDestination>();
            failure ??= first == length ? null : $"length {length}, element {first} ({source[first]}): {actual[first]}, expected {expected[first]}";
            if (length == source.Length)
            {
                actual.CopyTo(all, 0);
            }
        }

        report.Add<TDestination>(name, failure is null, all, failure ?? $"{source.Length} values bit for bit");
    }
}
