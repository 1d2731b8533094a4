namespace ModelGen.Kernels.Ops;

/// <summary>How rotary embedding pairs dimensions: llama rotates adjacent pairs, NeoX (qwen2, qwen3) the two halves.</summary>
public enum RopeStyle
{
    Normal,
    NeoX,
}
