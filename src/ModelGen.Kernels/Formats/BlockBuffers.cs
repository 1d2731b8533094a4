using System.Runtime.CompilerServices;

namespace ModelGen.Kernels.Formats;

/// <summary>16 bytes inside a block struct: 32 packed 4-bit quants.</summary>
[InlineArray(16)]
public struct Bytes16
{
    private byte _element0;
}

/// <summary>32 signed bytes inside a block struct: 8-bit quants.</summary>
[InlineArray(32)]
public struct SBytes32
{
    private sbyte _element0;
}
