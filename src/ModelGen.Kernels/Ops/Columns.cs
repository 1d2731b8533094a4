namespace ModelGen.Kernels.Ops;

/// <summary>Rows of a fused projection's output, split into the rows of its parts.</summary>
public static class Columns
{
    /// <summary>
    /// Copies each of the <paramref name="rows"/> rows of <paramref name="fused"/> into <paramref name="first"/>,
    /// <paramref name="second"/> and <paramref name="third"/> (which may be empty), each taking as many columns as its
    /// own rows are wide, in that order.
    /// </summary>
    public static void Split(ReadOnlySpan<float> fused, int rows, Span<float> first, Span<float> second, Span<float> third = default)
    {
        int a = first.Length / rows, b = second.Length / rows, c = third.Length / rows, width = a + b + c;
        if (fused.Length != rows * width)
        {
            throw new ArgumentException($"{rows} fused rows of {fused.Length / Math.Max(rows, 1)} cannot split into {a} + {b} + {c} columns");
        }

        for (int r = 0; r < rows; r++)
        {
            var row = fused.Slice(r * width, width);
            row[..a].CopyTo(first.Slice(r * a, a));
            row.Slice(a, b).CopyTo(second.Slice(r * b, b));
            row.Slice(a + b, c).CopyTo(third.Slice(r * c, c));
        }
    }
}
