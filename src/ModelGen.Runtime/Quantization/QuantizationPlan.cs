using ModelGen.Gguf;
using ModelGen.Runtime.Engine;

namespace ModelGen.Runtime.Quantization;

/// <summary>One tensor of a quantized model: where its data comes from, and the type and shape it is written with.</summary>
/// <param name="Source">The tensor in the input file.</param>
/// <param name="Shape">The shape, without trailing dimensions of 1 (ggml writes a tensor's dimension count so).</param>
/// <param name="Type">The type it is written as; the source type when it is copied.</param>
public sealed record PlannedTensor(GgufTensorInfo Source, long[] Shape, GgmlType Type)
{
    public string Name => Source.Name;
}

/// <summary>
/// llama-quantize's choice of a type for every tensor (<c>llama_tensor_get_type</c> in llama.cpp's
/// <c>src/llama-quant.cpp</c>), without an importance matrix or overrides: norms, biases and other 1-D tensors stay as
/// they are; output.weight (and token_embd.weight when it is tied to the output) gets Q6_K, or Q8_0 when its rows do
/// not fill the default type's blocks; the _M mixes give attn_v and ffn_down more bits in chosen layers; and a type
/// whose blocks do not divide a row falls back to a 32-element type (Q4_K to Q5_0, Q6_K to Q8_0, ...), or to F16.
/// </summary>
/// <remarks>
/// Tensors are visited in llama.cpp's order (those outside blocks first, then block by block, by name within each),
/// which is also the order the output file has: the layer counters of the mixes count tensors in that order.
/// </remarks>
public static class QuantizationPlan
{
    public static IReadOnlyList<PlannedTensor> Create(GgufHeader header, QuantizationType type)
    {
        var model = ModelFacts.Read(header);
        var tensors = header.Tensors.OrderBy(t => t.Name, LlamaTensorOrder.Instance).ToArray();
        var state = new MixState(model, tensors);
        var plan = new PlannedTensor[tensors.Length];
        for (int i = 0; i < tensors.Length; i++)
        {
            var shape = TrimmedShape(tensors[i].Shape);
            plan[i] = new PlannedTensor(tensors[i], shape, ChooseType(state, tensors[i], shape, type));
        }

        return plan;
    }

    private static GgmlType ChooseType(MixState state, GgufTensorInfo tensor, long[] shape, QuantizationType mix)
    {
        if (!AllowsQuantization(tensor.Name, shape.Length))
        {
            return tensor.Type;
        }

        var type = mix.DefaultTensorType();
        if (!type.Info().IsQuantized)
        {
            return type;
        }

        type = MixRules(state, tensor, type, mix);
        return Fallback(shape[0], type);
    }

    /// <summary><c>tensor_allows_quantization</c>: 2-D and larger weights, except norms, gates of experts and the small tables llama.cpp keeps.</summary>
    private static bool AllowsQuantization(string name, int dimensions) =>
        dimensions >= 2
        && name.EndsWith("weight", StringComparison.Ordinal)
        && name is not ("position_embd.weight" or "token_types.weight")
        && !NeverQuantized.Any(part => name.Contains(part, StringComparison.Ordinal));

    private static readonly string[] NeverQuantized =
    [
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
        "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
        "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight",
        "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
        "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_",
        ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    ];

    /// <summary><c>llama_tensor_get_type_impl</c>, for the mixes this project offers.</summary>
    private static GgmlType MixRules(MixState state, GgufTensorInfo tensor, GgmlType type, QuantizationType mix)
    {
        var model = state.Model;
        var category = Categorize(tensor.Name);
        if (category == Category.Output || (state.TiedEmbeddings && category == Category.TokenEmbedding))
        {
            // The output projection is the most sensitive matrix: Q6_K unless the mix is Q8_0 already, or Q8_0 when
            // the default type's blocks do not fit its rows.
            return model.IsFalcon || tensor.RowLength % type.Info().BlockSize != 0 ? GgmlType.Q8_0
                : type != GgmlType.Q8_0 ? GgmlType.Q6_K
                : type;
        }

        switch (category)
        {
            // Fused QKV and MLA's kv_b count as attn_v (llama.cpp's own later rule for attn_qkv is never reached).
            case Category.AttentionV or Category.AttentionQkv or Category.AttentionKvB:
            {
                int gqa = model.GroupedQueryFactor;
                type = mix switch
                {
                    QuantizationType.Q2_K => gqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K,
                    QuantizationType.Q3_K_M => state.AttentionV < 2 ? GgmlType.Q5_K : GgmlType.Q4_K,
                    QuantizationType.IQ4_NL or QuantizationType.IQ4_XS when gqa >= 4 => GgmlType.Q5_K,
                    QuantizationType.Q4_K_M or QuantizationType.Q5_K_M when UseMoreBits(state.AttentionV, state.AttentionVCount) => GgmlType.Q6_K,
                    _ => type,
                };

                // Llama-2-70B's attn_v is 8 times smaller than attn_q (8 heads share it): more bits cost little there.
                if (model.Is70B && type is GgmlType.Q3_K or GgmlType.Q4_K)
                {
                    type = GgmlType.Q5_K;
                }

                if (model.ExpertCount == 8)
                {
                    type = GgmlType.Q8_0;
                }

                state.AttentionV++;
                return type;
            }

            case Category.AttentionK:
                return model.ExpertCount == 8 ? GgmlType.Q8_0 : type;

            case Category.FeedForwardDown:
            {
                var (layer, layers) = state.Layer(tensor.Name, state.FeedForwardDown++);
                return mix switch
                {
                    QuantizationType.Q2_K => GgmlType.Q3_K,
                    QuantizationType.Q3_K_M => layer < layers / 16 ? GgmlType.Q5_K
                        : !model.IsFalcon || UseMoreBits(layer, layers) ? GgmlType.Q4_K
                        : GgmlType.Q3_K,
                    QuantizationType.Q4_K_M when model.IsFalcon => layer < layers / 16 ? GgmlType.Q6_K
                        : UseMoreBits(layer, layers) ? GgmlType.Q5_K
                        : GgmlType.Q4_K,
                    QuantizationType.Q4_K_M or QuantizationType.Q5_K_M => UseMoreBits(layer, layers) ? GgmlType.Q6_K : type,
                    QuantizationType.IQ4_NL or QuantizationType.IQ4_XS when layer < layers / 8 => GgmlType.Q5_K,
                    _ => type,
                };
            }

            case Category.AttentionOutput when model.ExpertCount == 8 && !model.IsFalcon:
                return mix is QuantizationType.Q2_K or QuantizationType.Q3_K_M or QuantizationType.IQ4_NL
                    or QuantizationType.Q4_K_M or QuantizationType.IQ4_XS ? GgmlType.Q5_K : type;

            case Category.AttentionOutput:
                return (mix, model.IsFalcon) switch
                {
                    (QuantizationType.Q2_K, false) => GgmlType.Q3_K,
                    (QuantizationType.Q3_K_M, false) => GgmlType.Q4_K,
                    _ => type,
                };

            case Category.FeedForwardGate:
                // Only the IQ3 mixes change gates and ups; their layer counters still advance (and check the name).
                state.Layer(tensor.Name, state.FeedForwardGate++);
                return type;

            case Category.FeedForwardUp:
                state.Layer(tensor.Name, state.FeedForwardUp++);
                return type;

            default:
                return type;
        }
    }

    /// <summary>
    /// The layers that get more bits in the _M mixes: the first and last eighth, and every third layer in between.
    /// </summary>
    private static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    /// <summary><c>tensor_type_fallback</c>: a type whose blocks fit the rows; F16 when even 32 does not divide them.</summary>
    private static GgmlType Fallback(long rowLength, GgmlType type)
    {
        if (rowLength % type.Info().BlockSize == 0)
        {
            return type;
        }

        var fallback = type switch
        {
            GgmlType.IQ4_XS => GgmlType.IQ4_NL,
            GgmlType.Q2_K or GgmlType.Q3_K => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ when type.Info().BlockSize <= 32 => type,
            _ => throw new NotSupportedException($"no fallback from {type.Info().Name} for rows of {rowLength}"),
        };
        return rowLength % fallback.Info().BlockSize == 0 ? fallback : GgmlType.F16;
    }

    private enum Category
    {
        Other,
        Output,
        TokenEmbedding,
        AttentionQkv,
        AttentionKvB,
        AttentionV,
        AttentionK,
        AttentionQ,
        AttentionOutput,
        FeedForwardUp,
        FeedForwardGate,
        FeedForwardDown,
    }

    /// <summary><c>tensor_get_category</c>: the first of these tests that matches.</summary>
    private static Category Categorize(string name) => name switch
    {
        "output.weight" => Category.Output,
        "token_embd.weight" or "per_layer_token_embd.weight" => Category.TokenEmbedding,
        _ when name.Contains("attn_qkv.weight", StringComparison.Ordinal) => Category.AttentionQkv,
        _ when name.Contains("attn_kv_b.weight", StringComparison.Ordinal) => Category.AttentionKvB,
        _ when name.Contains("attn_v.weight", StringComparison.Ordinal) => Category.AttentionV,
        _ when name.Contains("attn_k.weight", StringComparison.Ordinal) => Category.AttentionK,
        _ when name.Contains("attn_q.weight", StringComparison.Ordinal) => Category.AttentionQ,
        _ when name.Contains("attn_output.weight", StringComparison.Ordinal) => Category.AttentionOutput,
        _ when name.Contains("ffn_up", StringComparison.Ordinal) => Category.FeedForwardUp,
        _ when name.Contains("ffn_gate", StringComparison.Ordinal) => Category.FeedForwardGate,
        _ when name.Contains("ffn_down", StringComparison.Ordinal) => Category.FeedForwardDown,
        _ => Category.Other,
    };

    /// <summary>ggml's dimension count: trailing dimensions of 1 do not count, and at least one remains.</summary>
    private static long[] TrimmedShape(IReadOnlyList<long> shape)
    {
        int count = shape.Count;
        while (count > 1 && shape[count - 1] == 1)
        {
            count--;
        }

        return shape.Take(count).ToArray();
    }

    /// <summary>The hyper-parameters the rules look at.</summary>
    private sealed record ModelFacts(bool IsFalcon, bool Is70B, int LayerCount, int GroupedQueryFactor, int ExpertCount)
    {
        public static ModelFacts Read(GgufHeader header)
        {
            var md = header.Metadata;
            var arch = md.Architecture ?? throw new UnsupportedModelException($"{header.Source}: no general.architecture");
            int layers = (int)md.GetInteger($"{arch}.block_count", 1, 1 << 16);
            long heads = FirstLayer(md, $"{arch}.attention.head_count") ?? 0;
            long kvHeads = FirstLayer(md, $"{arch}.attention.head_count_kv") ?? heads;
            int experts = (int)(md.TryGetInteger($"{arch}.expert_count") ?? 0);

            // The architectures whose llama.cpp loaders call a model of this depth 70B (the only size the rules name).
            bool is70B = (arch, layers) switch
            {
                ("llama", 80) => experts != 8 && heads != kvHeads,
                ("qwen2" or "deci" or "olmo", 80) or ("jais2", 68) => true,
                _ => false,
            };
            return new ModelFacts(arch == "falcon", is70B, layers, kvHeads == 0 ? 0 : (int)(heads / kvHeads), experts);
        }

        /// <summary>A per-model value, or the first layer's of a per-layer array (llama.cpp's <c>n_gqa()</c> looks at layer 0).</summary>
        private static long? FirstLayer(GgufMetadata md, string key) =>
            md.TryGetValue(key, out var value) ? value.AsInt64() ?? (value.AsArray() is { Count: > 0 } layers ? Convert.ToInt64(layers.Items.GetValue(0)) : null) : null;
    }

    /// <summary>The counters llama.cpp keeps while it walks the tensors (<c>quantize_state_impl</c>).</summary>
    private sealed class MixState(ModelFacts model, IReadOnlyList<GgufTensorInfo> tensors)
    {
        public ModelFacts Model { get; } = model;

        /// <summary>No output.weight: the token embedding doubles as the output projection.</summary>
        public bool TiedEmbeddings { get; } = !tensors.Any(t => t.Name == "output.weight");

        public int AttentionVCount { get; } = tensors.Count(t => Categorize(t.Name) is Category.AttentionV or Category.AttentionQkv or Category.AttentionKvB);

        public int AttentionV { get; set; }

        public int FeedForwardDown { get; set; }

        public int FeedForwardGate { get; set; }

        public int FeedForwardUp { get; set; }

        /// <summary>
        /// The layer of a feed-forward tensor and the layer count: the tensor's position among its kind, except in
        /// mixtures of experts, whose expert tensors are not one per layer and are placed by their name.
        /// </summary>
        public (int Layer, int Layers) Layer(string name, int position)
        {
            if (Model.ExpertCount <= 1)
            {
                return (position, Model.LayerCount);
            }

            int layer = LlamaTensorOrder.BlockIndex(name);
            return layer >= 0 && layer < Model.LayerCount
                ? (layer, Model.LayerCount)
                : throw new UnsupportedModelException($"cannot tell the layer of tensor '{name}' (0 to {Model.LayerCount - 1})");
        }
    }

    /// <summary>
    /// llama.cpp's tensor order (<c>weight_name_comparer</c>): by block index (-1 for tensors outside blocks), then
    /// by name, byte for byte.
    /// </summary>
    private sealed class LlamaTensorOrder : IComparer<string>
    {
        public static LlamaTensorOrder Instance { get; } = new();

        public int Compare(string? x, string? y)
        {
            int byBlock = BlockIndex(x!).CompareTo(BlockIndex(y!));
            return byBlock != 0 ? byBlock : string.CompareOrdinal(x, y);
        }

        /// <summary>N of a name starting <c>blk.N</c>, or -1.</summary>
        public static int BlockIndex(string name)
        {
            const string prefix = "blk.";
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return -1;
            }

            int end = prefix.Length;
            while (end < name.Length && char.IsAsciiDigit(name[end]))
            {
                end++;
            }

            return int.TryParse(name.AsSpan(prefix.Length, end - prefix.Length), out int index) ? index : -1;
        }
    }
}
