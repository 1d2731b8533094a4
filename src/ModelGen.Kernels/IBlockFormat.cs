using ModelGen.Gguf;

namespace ModelGen.Kernels;

/// <summary>
/// A ggml storage format: rows are sequences of blocks of <see cref="BlockSize"/> elements, each
/// <see cref="BlockBytes"/> bytes. Implemented by empty structs (<c>Q4_0</c>, <c>Q4_K</c>, ...) so that generic
/// kernels (<c>MatVec&lt;Q4_K, Q8_K&gt;</c>) are specialised by the JIT, with every member a constant.
/// </summary>
public interface IBlockFormat
{
    static abstract GgmlType Type { get; }

    static abstract int BlockSize { get; }

    static abstract int BlockBytes { get; }

    /// <summary>Bit for bit <c>dequantize_row_&lt;type&gt;</c>: <paramref name="values"/>.Length elements.</summary>
    static abstract void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values);

    /// <summary>Bit for bit <c>quantize_row_&lt;type&gt;_ref</c>: <paramref name="values"/>.Length elements.</summary>
    static abstract void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks);
}

/// <summary>
/// A format activations are converted to before a dot product with weights (ggml's <c>vec_dot_type</c>):
/// Q8_0, Q8_1, Q8_K, and F32/F16/BF16 for float weights.
/// </summary>
public interface IActivationFormat : IBlockFormat
{
    /// <summary>
    /// Bit for bit what ggml's CPU backend does to activations (<c>type_traits_cpu.from_float</c>), which for some
    /// formats differs from the reference quantizer in rounding.
    /// </summary>
    static abstract void Quantize(SimdPath path, ReadOnlySpan<float> values, Span<byte> blocks);
}

/// <summary>A weight format and the activation format ggml pairs with it.</summary>
public interface IWeightFormat<TActivation> : IBlockFormat
    where TActivation : IActivationFormat
{
    /// <summary>
    /// <c>ggml_vec_dot_&lt;type&gt;_&lt;activation&gt;</c> of <paramref name="count"/> elements: one weight row
    /// against one activation row, both in whole blocks. Agrees with ggml to float rounding.
    /// </summary>
    static abstract float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count);

    /// <summary>
    /// A tile of dot products, if this format has a kernel for it on <paramref name="path"/>: see
    /// <see cref="WeightTiles.Dot{TWeight, TActivation}"/>, which callers use and which checks the arguments first.
    /// Every result must equal <see cref="Dot"/> of its pair bit for bit.
    /// </summary>
    /// <remarks>
    /// A tiled kernel shares what the pairs of a tile have in common (loaded and unpacked weight blocks, converted
    /// scales, activation loads) instead of redoing it per pair. The default, false, has the caller take
    /// <see cref="Dot"/> pair by pair; a default cannot do that itself, as an interface without a self type cannot
    /// call its implementer's static members.
    /// </remarks>
    /// <returns>Whether the tile was computed.</returns>
    static virtual bool TryDotTile(SimdPath path, in WeightTile tile) => false;
}
