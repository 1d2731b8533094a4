using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>How a float NaN becomes a half NaN: the one input on which ggml's two FP32 to FP16 conversions differ.</summary>
public enum HalfNaN
{
    /// <summary>Sign kept, payload dropped: <c>0x7E00</c>. ggml's reference <c>ggml_fp32_to_fp16_row</c>.</summary>
    Canonical,

    /// <summary>Quieted, top ten payload bits kept: what F16C's <c>vcvtps2ph</c> does, so ggml's x86 CPU backend.</summary>
    KeepPayload,
}

/// <summary>
/// FP16 and BF16 rows to and from FP32, bit for bit as ggml converts them: correctly rounded (to nearest even),
/// subnormals kept, NaNs quieted. .NET exposes no F16C instruction, so every path uses exact float and integer
/// arithmetic (for FP32 to FP16, that of ggml's portable conversion, after Maratyszcza's FP16 library).
/// </summary>
/// <remarks>Source and destination spans must not overlap.</remarks>
public static class FloatConversions
{
    /// <summary><c>ggml_compute_fp16_to_fp32</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfToSingle(Half value) =>
        BitConverter.UInt32BitsToSingle(HalfBitsToSingle.Convert(BitConverter.HalfToUInt16Bits(value)));

    /// <summary>
    /// <see cref="HalfToSingle(Half)"/> as one load from a table of all 65,536 values (ggml's <c>ggml_table_f32_f16</c>,
    /// which it uses without F16C): for kernels that convert FP16 scales one at a time, where the arithmetic
    /// conversion costs a dozen instructions. 256 KiB, built on first use.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfToSingleByTable(ushort bits) => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(HalfTable.Values), bits);

    /// <summary><c>ggml_compute_fp32_to_fp16</c> (or F16C's conversion, for <see cref="HalfNaN.KeepPayload"/>).</summary>
    public static Half SingleToHalf(float value, HalfNaN nan = HalfNaN.Canonical)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return BitConverter.UInt16BitsToHalf((ushort)(nan == HalfNaN.Canonical
            ? SingleToHalfBits<CanonicalNaN>.Convert(bits)
            : SingleToHalfBits<PayloadNaN>.Convert(bits)));
    }

    /// <summary><c>ggml_compute_bf16_to_fp32</c>: BF16 is the top half of an FP32.</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle(BFloat16BitsToSingle.Convert(bits));

    /// <summary><c>ggml_compute_fp32_to_bf16</c>: rounded to nearest even, NaNs quieted.</summary>
    public static ushort SingleToBFloat16(float value) => (ushort)SingleToBFloat16Bits.Convert(BitConverter.SingleToUInt32Bits(value));

    /// <summary><c>ggml_fp16_to_fp32_row</c>.</summary>
    public static void HalfToSingle(SimdPath path, ReadOnlySpan<Half> source, Span<float> destination) =>
        Widen<HalfBitsToSingle>(path, MemoryMarshal.Cast<Half, ushort>(source), MemoryMarshal.Cast<float, uint>(destination));

    /// <summary>
    /// <c>ggml_fp32_to_fp16_row</c> with <see cref="HalfNaN.Canonical"/>; <c>ggml_cpu_fp32_to_fp16</c> (F16 activations
    /// on x86) with <see cref="HalfNaN.KeepPayload"/>.
    /// </summary>
    public static void SingleToHalf(SimdPath path, ReadOnlySpan<float> source, Span<Half> destination, HalfNaN nan = HalfNaN.Canonical)
    {
        var bits = MemoryMarshal.Cast<float, uint>(source);
        var halves = MemoryMarshal.Cast<Half, ushort>(destination);
        if (nan == HalfNaN.Canonical)
        {
            Narrow<SingleToHalfBits<CanonicalNaN>>(path, bits, halves);
        }
        else
        {
            Narrow<SingleToHalfBits<PayloadNaN>>(path, bits, halves);
        }
    }

    /// <summary><c>ggml_bf16_to_fp32_row</c>.</summary>
    public static void BFloat16ToSingle(SimdPath path, ReadOnlySpan<ushort> source, Span<float> destination) =>
        Widen<BFloat16BitsToSingle>(path, source, MemoryMarshal.Cast<float, uint>(destination));

    /// <summary><c>ggml_fp32_to_bf16_row_ref</c>, which is also ggml's CPU <c>from_float</c> for BF16.</summary>
    public static void SingleToBFloat16(SimdPath path, ReadOnlySpan<float> source, Span<ushort> destination) =>
        Narrow<SingleToBFloat16Bits>(path, MemoryMarshal.Cast<float, uint>(source), destination);

    /// <summary>
    /// The FP16 values in the low 16 bits of each lane (the high bits are ignored) as FP32. For kernels that
    /// convert as they go.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToSingle(Vector512<uint> halfBits) => HalfBitsToSingle.Convert(halfBits).AsSingle();

    /// <inheritdoc cref="HalfToSingle(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfToSingle(Vector256<uint> halfBits) => HalfBitsToSingle.Convert(halfBits).AsSingle();

    /// <inheritdoc cref="HalfToSingle(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> HalfToSingle(Vector128<uint> halfBits) => HalfBitsToSingle.Convert(halfBits).AsSingle();

    /// <summary>A lane-wise map of 32-bit lanes, written once per vector width and once for scalars.</summary>
    private interface ILaneConversion
    {
        static abstract uint Convert(uint x);

        static abstract Vector128<uint> Convert(Vector128<uint> x);

        static abstract Vector256<uint> Convert(Vector256<uint> x);

        static abstract Vector512<uint> Convert(Vector512<uint> x);
    }

    /// <summary>16-bit source elements, zero-extended, converted into 32-bit destination elements.</summary>
    private static void Widen<TConversion>(SimdPath path, ReadOnlySpan<ushort> source, Span<uint> destination)
        where TConversion : ILaneConversion
    {
        CheckLengths(source.Length, destination.Length);
        ref ushort src = ref MemoryMarshal.GetReference(source);
        ref uint dst = ref MemoryMarshal.GetReference(destination);
        int n = source.Length;

        // Whole vectors, then one last vector that overlaps the previous one: elementwise, so recomputing is harmless.
        if (path == SimdPath.Vector512 && n >= Vector512<uint>.Count)
        {
            for (int i = 0; ; i = Math.Min(i + Vector512<uint>.Count, n - Vector512<uint>.Count))
            {
                var halves = Vector256.LoadUnsafe(ref src, (nuint)i).ToVector512Unsafe();
                TConversion.Convert(Vector512.WidenLower(halves)).StoreUnsafe(ref dst, (nuint)i);
                if (i == n - Vector512<uint>.Count)
                {
                    return;
                }
            }
        }

        if (path >= SimdPath.Vector256 && n >= Vector256<uint>.Count)
        {
            for (int i = 0; ; i = Math.Min(i + Vector256<uint>.Count, n - Vector256<uint>.Count))
            {
                var halves = Vector128.LoadUnsafe(ref src, (nuint)i).ToVector256Unsafe();
                TConversion.Convert(Vector256.WidenLower(halves)).StoreUnsafe(ref dst, (nuint)i);
                if (i == n - Vector256<uint>.Count)
                {
                    return;
                }
            }
        }

        if (path >= SimdPath.Vector128 && n >= Vector128<uint>.Count)
        {
            for (int i = 0; ; i = Math.Min(i + Vector128<uint>.Count, n - Vector128<uint>.Count))
            {
                var halves = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref src, i)))).AsUInt16();
                TConversion.Convert(Vector128.WidenLower(halves)).StoreUnsafe(ref dst, (nuint)i);
                if (i == n - Vector128<uint>.Count)
                {
                    return;
                }
            }
        }

        for (int i = 0; i < n; i++)
        {
            Unsafe.Add(ref dst, i) = TConversion.Convert(Unsafe.Add(ref src, i));
        }
    }

    /// <summary>32-bit source elements converted into 16-bit destination elements (the conversion leaves the top half zero).</summary>
    private static void Narrow<TConversion>(SimdPath path, ReadOnlySpan<uint> source, Span<ushort> destination)
        where TConversion : ILaneConversion
    {
        CheckLengths(source.Length, destination.Length);
        ref uint src = ref MemoryMarshal.GetReference(source);
        ref ushort dst = ref MemoryMarshal.GetReference(destination);
        int n = source.Length;

        if (path == SimdPath.Vector512 && n >= Vector512<ushort>.Count)
        {
            for (int i = 0; ; i = Math.Min(i + Vector512<ushort>.Count, n - Vector512<ushort>.Count))
            {
                var lower = TConversion.Convert(Vector512.LoadUnsafe(ref src, (nuint)i));
                var upper = TConversion.Convert(Vector512.LoadUnsafe(ref src, (nuint)(i + Vector512<uint>.Count)));
                Vector512.Narrow(lower, upper).StoreUnsafe(ref dst, (nuint)i);
                if (i == n - Vector512<ushort>.Count)
                {
                    return;
                }
            }
        }

        if (path >= SimdPath.Vector256 && n >= Vector256<ushort>.Count)
        {
            for (int i = 0; ; i = Math.Min(i + Vector256<ushort>.Count, n - Vector256<ushort>.Count))
            {
                var lower = TConversion.Convert(Vector256.LoadUnsafe(ref src, (nuint)i));
                var upper = TConversion.Convert(Vector256.LoadUnsafe(ref src, (nuint)(i + Vector256<uint>.Count)));
                Vector256.Narrow(lower, upper).StoreUnsafe(ref dst, (nuint)i);
                if (i == n - Vector256<ushort>.Count)
                {
                    return;
                }
            }
        }

        if (path >= SimdPath.Vector128 && n >= Vector128<ushort>.Count)
        {
            for (int i = 0; ; i = Math.Min(i + Vector128<ushort>.Count, n - Vector128<ushort>.Count))
            {
                var lower = TConversion.Convert(Vector128.LoadUnsafe(ref src, (nuint)i));
                var upper = TConversion.Convert(Vector128.LoadUnsafe(ref src, (nuint)(i + Vector128<uint>.Count)));
                Vector128.Narrow(lower, upper).StoreUnsafe(ref dst, (nuint)i);
                if (i == n - Vector128<ushort>.Count)
                {
                    return;
                }
            }
        }

        for (int i = 0; i < n; i++)
        {
            Unsafe.Add(ref dst, i) = (ushort)TConversion.Convert(Unsafe.Add(ref src, i));
        }
    }

    private static void CheckLengths(int source, int destination)
    {
        if (source != destination)
        {
            throw new ArgumentException($"source has {source} elements, destination {destination}", nameof(destination));
        }
    }

    /// <summary>
    /// FP16 to FP32. Exponent and mantissa shifted into place read as a float 2^112 times too small, subnormal
    /// halves as float subnormals, so one multiply by 2^112 rebiases both exactly. Inf and NaN first get the
    /// all-ones exponent, which the multiply carries through (quieting NaNs as ggml's conversion does).
    /// </summary>
    /// <remarks>Exact only without denormals-are-zero, which .NET never sets. Reads only the low 16 bits of each lane.</remarks>
    private readonly struct HalfBitsToSingle : ILaneConversion
    {
        private const uint Magnitude = 0x7FFFu << 13;
        private const uint MaxExponent = 0x1Fu << 23; // the half's exponent field, shifted into place
        private const uint AllOnesExponent = 0x7F80_0000;
        private const float Rebias = (float)(1L << 56) * (1L << 56); // 2^112
        private const uint Sign = 0x8000_0000;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Convert(uint x)
        {
            uint shifted = (x << 13) & Magnitude;
            shifted |= shifted >= MaxExponent ? AllOnesExponent : 0;
            return ((x << 16) & Sign) | BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(shifted) * Rebias);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<uint> Convert(Vector128<uint> x)
        {
            var shifted = (x << 13) & Vector128.Create(Magnitude);
            shifted |= Vector128.GreaterThanOrEqual(shifted, Vector128.Create(MaxExponent)) & Vector128.Create(AllOnesExponent);
            return ((x << 16) & Vector128.Create(Sign)) | (shifted.AsSingle() * Rebias).AsUInt32();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Convert(Vector256<uint> x)
        {
            var shifted = (x << 13) & Vector256.Create(Magnitude);
            shifted |= Vector256.GreaterThanOrEqual(shifted, Vector256.Create(MaxExponent)) & Vector256.Create(AllOnesExponent);
            return ((x << 16) & Vector256.Create(Sign)) | (shifted.AsSingle() * Rebias).AsUInt32();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Convert(Vector512<uint> x)
        {
            var shifted = (x << 13) & Vector512.Create(Magnitude);
            shifted |= Vector512.GreaterThanOrEqual(shifted, Vector512.Create(MaxExponent)) & Vector512.Create(AllOnesExponent);
            return ((x << 16) & Vector512.Create(Sign)) | (shifted.AsSingle() * Rebias).AsUInt32();
        }
    }

    /// <summary>The half NaN for a float NaN's bits, sign excluded.</summary>
    private interface INaNPolicy
    {
        static abstract uint NaN(uint w);

        static abstract Vector128<uint> NaN(Vector128<uint> w);

        static abstract Vector256<uint> NaN(Vector256<uint> w);

        static abstract Vector512<uint> NaN(Vector512<uint> w);
    }

    private readonly struct CanonicalNaN : INaNPolicy
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint NaN(uint w) => 0x7E00;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<uint> NaN(Vector128<uint> w) => Vector128.Create(0x7E00u);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> NaN(Vector256<uint> w) => Vector256.Create(0x7E00u);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> NaN(Vector512<uint> w) => Vector512.Create(0x7E00u);
    }

    private readonly struct PayloadNaN : INaNPolicy
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint NaN(uint w) => 0x7E00 | ((w >> 13) & 0x3FF);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<uint> NaN(Vector128<uint> w) => Vector128.Create(0x7E00u) | ((w >> 13) & Vector128.Create(0x3FFu));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> NaN(Vector256<uint> w) => Vector256.Create(0x7E00u) | ((w >> 13) & Vector256.Create(0x3FFu));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> NaN(Vector512<uint> w) => Vector512.Create(0x7E00u) | ((w >> 13) & Vector512.Create(0x3FFu));
    }

    /// <summary>
    /// FP32 to FP16, rounded to nearest even by the FPU itself: scaling |f| by 2^112 then 2^-110 saturates what
    /// overflows to Inf; adding a power of two whose exponent puts the half's last mantissa bit at the float's last
    /// bit rounds the mantissa there, after which exponent and mantissa are read off the sum's bits.
    /// </summary>
    private readonly struct SingleToHalfBits<TNaN> : ILaneConversion
        where TNaN : INaNPolicy
    {
        private const float ScaleToInfinity = (float)(1L << 56) * (1L << 56); // 2^112
        private const float ScaleToZero = 1.0f / (1L << 55) / (1L << 55); // 2^-110
        private const uint ExponentMask = 0xFF00_0000; // of the float's bits shifted left by one
        private const uint SmallestBias = 0x7100_0000; // the rounding term for halves below the normal range
        private const uint BiasOffset = 0x0780_0000;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Convert(uint w)
        {
            float magnitude = BitConverter.UInt32BitsToSingle(w & 0x7FFF_FFFF) * ScaleToInfinity * ScaleToZero;
            uint twice = w + w;
            uint bias = Math.Max(twice & ExponentMask, SmallestBias);
            uint bits = BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle((bias >> 1) + BiasOffset) + magnitude);
            uint finite = ((bits >> 13) & 0x7C00) + (bits & 0x0FFF);
            return ((w >> 16) & 0x8000) | (twice > ExponentMask ? TNaN.NaN(w) : finite);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<uint> Convert(Vector128<uint> w)
        {
            var magnitude = (w & Vector128.Create(0x7FFF_FFFFu)).AsSingle() * ScaleToInfinity * ScaleToZero;
            var twice = w + w;
            var bias = Vector128.Max(twice & Vector128.Create(ExponentMask), Vector128.Create(SmallestBias));
            var bits = (((bias >> 1) + Vector128.Create(BiasOffset)).AsSingle() + magnitude).AsUInt32();
            var finite = ((bits >> 13) & Vector128.Create(0x7C00u)) + (bits & Vector128.Create(0x0FFFu));
            var isNaN = Vector128.GreaterThan(twice, Vector128.Create(ExponentMask));
            return ((w >> 16) & Vector128.Create(0x8000u)) | Vector128.ConditionalSelect(isNaN, TNaN.NaN(w), finite);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Convert(Vector256<uint> w)
        {
            var magnitude = (w & Vector256.Create(0x7FFF_FFFFu)).AsSingle() * ScaleToInfinity * ScaleToZero;
            var twice = w + w;
            var bias = Vector256.Max(twice & Vector256.Create(ExponentMask), Vector256.Create(SmallestBias));
            var bits = (((bias >> 1) + Vector256.Create(BiasOffset)).AsSingle() + magnitude).AsUInt32();
            var finite = ((bits >> 13) & Vector256.Create(0x7C00u)) + (bits & Vector256.Create(0x0FFFu));
            var isNaN = Vector256.GreaterThan(twice, Vector256.Create(ExponentMask));
            return ((w >> 16) & Vector256.Create(0x8000u)) | Vector256.ConditionalSelect(isNaN, TNaN.NaN(w), finite);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Convert(Vector512<uint> w)
        {
            var magnitude = (w & Vector512.Create(0x7FFF_FFFFu)).AsSingle() * ScaleToInfinity * ScaleToZero;
            var twice = w + w;
            var bias = Vector512.Max(twice & Vector512.Create(ExponentMask), Vector512.Create(SmallestBias));
            var bits = (((bias >> 1) + Vector512.Create(BiasOffset)).AsSingle() + magnitude).AsUInt32();
            var finite = ((bits >> 13) & Vector512.Create(0x7C00u)) + (bits & Vector512.Create(0x0FFFu));
            var isNaN = Vector512.GreaterThan(twice, Vector512.Create(ExponentMask));
            return ((w >> 16) & Vector512.Create(0x8000u)) | Vector512.ConditionalSelect(isNaN, TNaN.NaN(w), finite);
        }
    }

    /// <summary>BF16 to FP32: the BF16 bits are the float's top half.</summary>
    private readonly struct BFloat16BitsToSingle : ILaneConversion
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Convert(uint x) => x << 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<uint> Convert(Vector128<uint> x) => x << 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Convert(Vector256<uint> x) => x << 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Convert(Vector512<uint> x) => x << 16;
    }

    /// <summary>
    /// FP32 to BF16: add 0x7FFF plus the lowest kept bit, so that ties carry only into an odd result, then drop the
    /// low half. NaNs are cut short and quieted instead (rounding could carry a NaN into Inf).
    /// </summary>
    private readonly struct SingleToBFloat16Bits : ILaneConversion
    {
        private const uint QuietBit = 0x40;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Convert(uint w) =>
            (w & 0x7FFF_FFFF) > 0x7F80_0000 ? (w >> 16) | QuietBit : (w + 0x7FFF + ((w >> 16) & 1)) >> 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<uint> Convert(Vector128<uint> w)
        {
            var isNaN = Vector128.GreaterThan(w & Vector128.Create(0x7FFF_FFFFu), Vector128.Create(0x7F80_0000u));
            var rounded = (w + Vector128.Create(0x7FFFu) + ((w >> 16) & Vector128<uint>.One)) >> 16;
            return Vector128.ConditionalSelect(isNaN, (w >> 16) | Vector128.Create(QuietBit), rounded);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Convert(Vector256<uint> w)
        {
            var isNaN = Vector256.GreaterThan(w & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
            var rounded = (w + Vector256.Create(0x7FFFu) + ((w >> 16) & Vector256<uint>.One)) >> 16;
            return Vector256.ConditionalSelect(isNaN, (w >> 16) | Vector256.Create(QuietBit), rounded);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Convert(Vector512<uint> w)
        {
            var isNaN = Vector512.GreaterThan(w & Vector512.Create(0x7FFF_FFFFu), Vector512.Create(0x7F80_0000u));
            var rounded = (w + Vector512.Create(0x7FFFu) + ((w >> 16) & Vector512<uint>.One)) >> 16;
            return Vector512.ConditionalSelect(isNaN, (w >> 16) | Vector512.Create(QuietBit), rounded);
        }
    }
}

/// <summary>Every FP16 value as FP32, indexed by its bits: <see cref="FloatConversions.HalfToSingleByTable"/>.</summary>
file static class HalfTable
{
    public static readonly float[] Values = Create();

    private static float[] Create()
    {
        var values = new float[ushort.MaxValue + 1];
        for (int bits = 0; bits < values.Length; bits++)
        {
            values[bits] = FloatConversions.HalfToSingle(BitConverter.UInt16BitsToHalf((ushort)bits));
        }

        return values;
    }
}
