namespace ModelGen.Kernels.Formats;

/// <summary>
/// The searches ggml's reference K-quantizers run to choose a group's scale (and min), from ggml-quants.c. Every
/// float operation is done in ggml's order, because a quantizer that rounds once differently picks other bytes.
/// </summary>
internal static class KQuantSearch
{
    /// <summary>
    /// <c>make_qx_quants</c> with <c>rmse_type</c> 1 and no importance weights (Q6_K): symmetric quants in
    /// [-nmax, nmax-1], stored plus nmax in <paramref name="quants"/>. Tries 19 scales around nmax/max and keeps the
    /// one with the best weighted least-squares fit, weights being x^2. Returns the scale.
    /// </summary>
    public static float SymmetricQuants(int nmax, ReadOnlySpan<float> x, Span<sbyte> quants)
    {
        float max = ScalarQuantization.SignedMaximum(x);
        if (MathF.Abs(max) < KQuants.GroupMaxEps)
        {
            quants.Clear();
            return 0f;
        }

        float iscale = -nmax / max;
        var (sumlx, suml2) = SymmetricFit(nmax, x, iscale);
        for (int i = 0; i < x.Length; i++)
        {
            quants[i] = (sbyte)(nmax + SymmetricQuant(nmax, iscale * x[i]));
        }

        float scale = suml2 != 0 ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }

            iscale = -(nmax + 0.1f * step) / max;
            (sumlx, suml2) = SymmetricFit(nmax, x, iscale);
            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (int i = 0; i < x.Length; i++)
                {
                    quants[i] = (sbyte)(nmax + SymmetricQuant(nmax, iscale * x[i]));
                }

                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }

        return scale;
    }

    /// <summary>
    /// <c>make_q3_quants</c> with <c>do_rmse</c> (Q3_K): quants in [-nmax, nmax-1] from nmax/max, then up to five
    /// rounds of moving single quants to whatever improves the x^2-weighted fit. Quants are stored plus nmax.
    /// </summary>
    public static float Q3Quants(int nmax, ReadOnlySpan<float> x, Span<sbyte> quants)
    {
        float max = ScalarQuantization.SignedMaximum(x);
        if (MathF.Abs(max) < KQuants.GroupMaxEps)
        {
            quants.Clear();
            return 0f;
        }

        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int l = SymmetricQuant(nmax, iscale * x[i]);
            quants[i] = (sbyte)l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }

        for (int round = 0; round < 5; round++)
        {
            int changed = 0;
            for (int i = 0; i < x.Length; i++)
            {
                float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * quants[i];
                if (slx > 0)
                {
                    float sl2 = suml2 - w * quants[i] * quants[i];
                    int l = Math.Clamp(KQuants.NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
                    if (l != quants[i])
                    {
                        slx += w * x[i] * l;
                        sl2 += w * l * l;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            quants[i] = (sbyte)l;
                            sumlx = slx;
                            suml2 = sl2;
                            changed++;
                        }
                    }
                }
            }

            if (changed == 0)
            {
                break;
            }
        }

        for (int i = 0; i < x.Length; i++)
        {
            quants[i] += (sbyte)nmax;
        }

        return suml2 > 0 ? sumlx / suml2 : 0f;
    }

    /// <summary>
    /// <c>make_qkx2_quants</c> (Q2_K, Q4_K, Q5_K): quants in [0, nmax] for x = scale * q - min. Starts from the
    /// range of x, then tries the scales (nmax + rmin + rdelta * step) / range for step 0..steps, refitting scale and
    /// min by weighted least squares each time and keeping the lowest weighted error (absolute with
    /// <paramref name="absoluteError"/>, else squared). Returns the scale; <paramref name="min"/> gets the min
    /// (as a non-negative offset to subtract).
    /// </summary>
    public static float AffineQuants(
        int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> quants, Span<byte> scratch,
        out float min, float rmin, float rdelta, int steps, bool absoluteError)
    {
        float lowest = x[0];
        float highest = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < x.Length; i++)
        {
            if (x[i] < lowest)
            {
                lowest = x[i];
            }

            if (x[i] > highest)
            {
                highest = x[i];
            }

            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }

        if (lowest > 0)
        {
            lowest = 0;
        }

        if (highest == lowest)
        {
            quants.Clear();
            min = -lowest;
            return 0f;
        }

        float iscale = nmax / (highest - lowest);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < x.Length; i++)
        {
            quants[i] = (byte)Math.Clamp(KQuants.NearestInt(iscale * (x[i] - lowest)), 0, nmax);
            bestError += weights[i] * Error(scale * quants[i] + lowest - x[i], absoluteError);
        }

        for (int step = 0; step <= steps; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (highest - lowest);
            float sumL = 0;
            float sumL2 = 0;
            float sumXL = 0;
            for (int i = 0; i < x.Length; i++)
            {
                int l = Math.Clamp(KQuants.NearestInt(iscale * (x[i] - lowest)), 0, nmax);
                scratch[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }

            float determinant = sumW * sumL2 - sumL * sumL;
            if (determinant > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / determinant;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / determinant;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }

                float error = 0;
                for (int i = 0; i < x.Length; i++)
                {
                    error += weights[i] * Error(thisScale * scratch[i] + thisMin - x[i], absoluteError);
                }

                if (error < bestError)
                {
                    scratch[..x.Length].CopyTo(quants);
                    bestError = error;
                    scale = thisScale;
                    lowest = thisMin;
                }
            }
        }

        min = -lowest;
        return scale;
    }

    /// <summary>
    /// What <c>quantize_row_q4_K_ref</c> and <c>quantize_row_q5_K_ref</c> share: <see cref="AffineQuants"/> on each
    /// 32-weight sub-block (weights: rms + |x|), its scales and mins rounded to 6 bits of the largest and packed
    /// (<see cref="KQuants.PackScalesAndMins"/>), the two super-block scales rounded to FP16, and every weight
    /// requantized against its sub-block's rounded scale and min. <paramref name="quants"/> gets values in [0, nmax].
    /// </summary>
    public static void SixBitScaledQuants(
        ReadOnlySpan<float> x, int nmax, float rmin, int steps, out Half d, out Half dmin, Span<byte> packedScales, Span<byte> quants)
    {
        const int SubBlocks = KQuants.BlockSize / 32;
        Span<float> weights = stackalloc float[32];
        Span<byte> scratch = stackalloc byte[32];
        Span<float> scales = stackalloc float[SubBlocks];
        Span<float> mins = stackalloc float[SubBlocks];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < SubBlocks; j++)
        {
            var xb = x.Slice(32 * j, 32);
            float sumX2 = 0;
            foreach (float value in xb)
            {
                sumX2 += value * value;
            }

            float rms = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++)
            {
                weights[l] = rms + MathF.Abs(xb[l]);
            }

            scales[j] = AffineQuants(nmax, xb, weights, quants.Slice(32 * j, 32), scratch, out mins[j], rmin, 0.1f, steps, absoluteError: false);
            maxScale = scales[j] > maxScale ? scales[j] : maxScale;
            maxMin = mins[j] > maxMin ? mins[j] : maxMin;
        }

        float inverseScale = maxScale > 0 ? 63f / maxScale : 0f;
        float inverseMin = maxMin > 0 ? 63f / maxMin : 0f;
        Span<byte> sixBitScales = stackalloc byte[SubBlocks];
        Span<byte> sixBitMins = stackalloc byte[SubBlocks];
        for (int j = 0; j < SubBlocks; j++)
        {
            // ggml stores nearest_int's int in a uint8_t before clamping, so a negative result wraps and clamps to 63.
            sixBitScales[j] = Math.Min((byte)63, (byte)KQuants.NearestInt(inverseScale * scales[j]));
            sixBitMins[j] = Math.Min((byte)63, (byte)KQuants.NearestInt(inverseMin * mins[j]));
        }

        KQuants.PackScalesAndMins(sixBitScales, sixBitMins, packedScales);
        d = FloatConversions.SingleToHalf(maxScale / 63f);
        dmin = FloatConversions.SingleToHalf(maxMin / 63f);

        float superScale = FloatConversions.HalfToSingle(d);
        float superMin = FloatConversions.HalfToSingle(dmin);
        for (int j = 0; j < SubBlocks; j++)
        {
            float scale = superScale * sixBitScales[j];
            if (scale == 0)
            {
                continue; // ggml keeps the search's quants
            }

            float offset = superMin * sixBitMins[j];
            for (int l = 32 * j; l < 32 * j + 32; l++)
            {
                quants[l] = (byte)Math.Clamp(KQuants.NearestInt((x[l] + offset) / scale), 0, nmax);
            }
        }
    }

    private static int SymmetricQuant(int nmax, float scaled) => Math.Clamp(KQuants.NearestInt(scaled), -nmax, nmax - 1);

    /// <summary>The x^2-weighted sums of l*x and l*l for the quants at <paramref name="iscale"/>.</summary>
    private static (float SumLX, float SumL2) SymmetricFit(int nmax, ReadOnlySpan<float> x, float iscale)
    {
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int l = SymmetricQuant(nmax, iscale * x[i]);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }

        return (sumlx, suml2);
    }

    private static float Error(float difference, bool absolute) => absolute ? MathF.Abs(difference) : difference * difference;
}
