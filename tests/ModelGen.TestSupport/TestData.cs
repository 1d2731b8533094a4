namespace ModelGen.TestSupport;

/// <summary>Seeded random inputs for kernel and model tests.</summary>
public static class TestData
{
    /// <summary>Gaussian-ish values (sum of uniforms) with a few outliers, as weights and activations look.</summary>
    public static float[] Floats(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            float g = (float)(rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5);
            values[i] = scale * (rng.Next(64) == 0 ? 8 * g : g);
        }

        return values;
    }

    /// <summary>Random bytes.</summary>
    public static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
