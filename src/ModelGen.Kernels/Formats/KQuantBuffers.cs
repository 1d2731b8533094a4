using System.Runtime.CompilerServices;

namespace ModelGen.Kernels.Formats;

// The fixed-size arrays inside the K-quant block structs (BlockBuffers.cs has those of the 32-element formats).

/// <summary>4 bytes inside a block struct.</summary>
[InlineArray(4)]
public struct Bytes4
{
    private byte _element0;
}

/// <summary>12 bytes inside a block struct: packed 6-bit scales.</summary>
[InlineArray(12)]
public struct Bytes12
{
    private byte _element0;
}

/// <summary>32 bytes inside a block struct.</summary>
[InlineArray(32)]
public struct Bytes32
{
    private byte _element0;
}

/// <summary>64 bytes inside a block struct.</summary>
[InlineArray(64)]
public struct Bytes64
{
    private byte _element0;
}

/// <summary>128 bytes inside a block struct.</summary>
[InlineArray(128)]
public struct Bytes128
{
    private byte _element0;
}

/// <summary>16 signed bytes inside a block struct: 8-bit scales.</summary>
[InlineArray(16)]
public struct SBytes16
{
    private sbyte _element0;
}

/// <summary>256 signed bytes inside a block struct: a super-block of 8-bit quants.</summary>
[InlineArray(256)]
public struct SBytes256
{
    private sbyte _element0;
}

/// <summary>16 int16 values inside a block struct: sums of each 16 quants of a super-block.</summary>
[InlineArray(16)]
public struct Shorts16
{
    private short _element0;
}
