using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.ArmCheck;

/// <summary>
/// The program's output: a header line saying what the CPU runs, then one line per check,
/// <c>NAME ok|FAIL DIGEST DETAIL</c>. DIGEST is an FNV-1a hash of the SIMD path's results, so that the lines of two
/// machines can be compared bit for bit without printing the results; DETAIL says what was checked, or what differed.
/// </summary>
internal sealed class Report(TextWriter output, SimdPath path)
{
    private bool _headerWritten;

    /// <summary>The path every check runs against the scalar reference.</summary>
    public SimdPath Path { get; } = path;

    public int Failures { get; private set; }

    /// <summary>Writes one check's line: it passed if <paramref name="ok"/>.</summary>
    public void Add<T>(string name, bool ok, ReadOnlySpan<T> results, string detail)
        where T : unmanaged
    {
        if (!_headerWritten)
        {
            output.WriteLine($"cpu {RuntimeInformation.ProcessArchitecture} path={Path} advsimd={AdvSimd.Arm64.IsSupported} dotprod={Dp.IsSupported} ssse3={Ssse3.IsSupported} avx2={Avx2.IsSupported} fma={Fma.IsSupported} vector128={Vector128.IsHardwareAccelerated}");
            _headerWritten = true;
        }

        Failures += ok ? 0 : 1;
        output.WriteLine($"{name} {(ok ? "ok" : "FAIL")} {Digest(MemoryMarshal.AsBytes(results)):x16} {detail}");
    }

    private static ulong Digest(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 0xCBF2_9CE4_8422_2325;
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * 0x0000_0100_0000_01B3;
        }

        return hash;
    }
}
