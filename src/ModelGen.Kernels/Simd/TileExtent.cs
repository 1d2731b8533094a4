namespace ModelGen.Kernels.Simd;

/// <summary>
/// A compile-time count of rows for register-blocked kernels: a kernel generic over extents is compiled once per
/// shape with the count a constant, so the code and the registers of absent rows vanish instead of being looped over.
/// </summary>
internal interface ITileExtent
{
    static abstract int Value { get; }
}

internal readonly struct One : ITileExtent
{
    public static int Value => 1;
}

internal readonly struct Two : ITileExtent
{
    public static int Value => 2;
}

internal readonly struct Three : ITileExtent
{
    public static int Value => 3;
}

internal readonly struct Four : ITileExtent
{
    public static int Value => 4;
}
