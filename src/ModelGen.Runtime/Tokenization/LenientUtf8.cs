namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// UTF-8 as llama.cpp's tokenizers read it: lenient (overlong forms and encoded surrogates decode like any other
/// sequence), with each byte that starts no complete sequence read as U+FFFD.
/// </summary>
internal static class LenientUtf8
{
    /// <summary>U+FFFD, what an undecodable byte reads as.</summary>
    public const int ReplacementCharacter = 0xFFFD;

    /// <summary>
    /// The length a sequence claims from its first byte alone (1 for ASCII and for stray continuation bytes): how
    /// the SentencePiece merge loop cuts text into initial symbols.
    /// </summary>
    public static int SequenceLength(byte lead) => lead switch
    {
        < 0xC0 => 1,
        < 0xE0 => 2,
        < 0xF0 => 3,
        _ => 4,
    };

    /// <summary>Decodes <paramref name="utf8"/> into code points, appending them to <paramref name="codepoints"/>.</summary>
    public static void Decode(ReadOnlySpan<byte> utf8, List<int> codepoints)
    {
        for (int i = 0; i < utf8.Length;)
        {
            codepoints.Add(DecodeOne(utf8, ref i));
        }
    }

    private static int DecodeOne(ReadOnlySpan<byte> s, ref int offset)
    {
        int b0 = s[offset];
        int length = b0 switch
        {
            < 0x80 => 1,
            < 0xC0 => 0,
            < 0xE0 => 2,
            < 0xF0 => 3,
            < 0xF8 => 4,
            _ => 0,
        };

        if (length == 1)
        {
            offset++;
            return b0;
        }

        if (length == 0 || offset + length > s.Length)
        {
            offset++;
            return ReplacementCharacter;
        }

        int codepoint = b0 & (0x7F >> length);
        for (int k = 1; k < length; k++)
        {
            int b = s[offset + k];
            if ((b & 0xC0) != 0x80)
            {
                offset++;
                return ReplacementCharacter;
            }

            codepoint = (codepoint << 6) | (b & 0x3F);
        }

        // Four-byte forms reach 0x1FFFFF; llama.cpp cannot encode those back and fails on them, we read them as U+FFFD.
        if (codepoint >= Codepoints.Limit)
        {
            offset++;
            return ReplacementCharacter;
        }

        offset += length;
        return codepoint;
    }

    /// <summary>Appends the UTF-8 form of <paramref name="codepoint"/> (at most U+10FFFF; surrogates encode as three bytes).</summary>
    public static void Encode(int codepoint, List<byte> output)
    {
        switch (codepoint)
        {
            case < 0x80:
                output.Add((byte)codepoint);
                break;
            case < 0x800:
                output.Add((byte)(0xC0 | (codepoint >> 6)));
                output.Add((byte)(0x80 | (codepoint & 0x3F)));
                break;
            case < 0x10000:
                output.Add((byte)(0xE0 | (codepoint >> 12)));
                output.Add((byte)(0x80 | ((codepoint >> 6) & 0x3F)));
                output.Add((byte)(0x80 | (codepoint & 0x3F)));
                break;
            default:
                output.Add((byte)(0xF0 | (codepoint >> 18)));
                output.Add((byte)(0x80 | ((codepoint >> 12) & 0x3F)));
                output.Add((byte)(0x80 | ((codepoint >> 6) & 0x3F)));
                output.Add((byte)(0x80 | (codepoint & 0x3F)));
                break;
        }
    }
}
