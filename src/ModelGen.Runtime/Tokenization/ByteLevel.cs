namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// GPT-2's byte-to-unicode mapping: byte-level BPE vocabularies spell each byte as one printable character, the
/// printable Latin-1 bytes as themselves and the other 68 as U+0100.. in byte order (space is U+0120 'Ġ').
/// </summary>
internal static class ByteLevel
{
    private static readonly int[] CharOfByte = BuildCharOfByte();
    private static readonly short[] ByteOfChar = BuildByteOfChar();

    /// <summary>The character that stands for <paramref name="b"/>.</summary>
    public static int CharOf(byte b) => CharOfByte[b];

    /// <summary>The byte <paramref name="codepoint"/> stands for, or -1 if it stands for none.</summary>
    public static int ByteOf(int codepoint) => (uint)codepoint < (uint)ByteOfChar.Length ? ByteOfChar[codepoint] : -1;

    /// <summary>
    /// The bytes a byte-level token text stands for, appended to <paramref name="bytes"/>; false if some character
    /// stands for no byte (such a text never matches byte-level-encoded input).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> text, List<byte> bytes)
    {
        foreach (char c in text)
        {
            int b = ByteOf(c);
            if (b < 0)
            {
                return false;
            }

            bytes.Add((byte)b);
        }

        return true;
    }

    private static bool IsPrintable(int b) => b is >= 0x21 and <= 0x7E or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    private static int[] BuildCharOfByte()
    {
        var map = new int[256];
        int next = 0x100;
        for (int b = 0; b < map.Length; b++)
        {
            map[b] = IsPrintable(b) ? b : next++;
        }

        return map;
    }

    private static short[] BuildByteOfChar()
    {
        var map = new short[0x100 + 68];
        map.AsSpan().Fill(-1);
        for (int b = 0; b < 256; b++)
        {
            map[CharOfByte[b]] = (short)b;
        }

        return map;
    }
}
