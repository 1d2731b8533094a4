using System.Text;

namespace ModelGen.Runtime.Tests.Tokenization;

/// <summary>
/// Seeded random and adversarial tokenizer inputs: text from many scripts, emoji sequences, combining marks,
/// whitespace runs of every kind, digit runs, contractions, code, special-token text (whole and broken), code points
/// Unicode assigned after llama.cpp's tables, and invalid UTF-8.
/// </summary>
public sealed class FuzzText(int seed, IReadOnlyList<string> specialTexts)
{
    private readonly Random _random = new(seed);

    private static readonly string[] Words =
    [
        "Hello", "world", "the", "THE", "tokenizer", "llama", "Äpfel", "naïve", "straße", "ÉCOLE", "нещо", "Български",
        "Ελληνικά", "עברית", "العربية", "हिन्दी", "ภาษาไทย", "中文字符", "日本語のテキスト", "カタカナ", "한국어", "ქართული",
        "Հայերեն", "ᏣᎳᎩ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ﬁnance", "Ｆｕｌｌｗｉｄｔｈ", "µ", "ǅ", "Ⅻ", "½", "²³", "٣٤٥", "१२३", "𝟙𝟚𝟛",
    ];

    private static readonly string[] Whitespace =
    [
        " ", "  ", "   ", "\t", "\n", "\r", "\r\n", "\n\n", " \n", "\t\n ", "\u00A0", "\u3000", "\u2009", "\u0085",
        "\u2028", "\u200B", "\u000B", "\u000C", "\u1680", "\u205F",
    ];

    private static readonly string[] Symbols =
    [
        "!", "?", ".", ",", "...", "!!", "?!", ";", ":", "-", "--", "—", "–", "(", ")", "[", "]", "{", "}", "<", ">", "=",
        "==", "+=", "$", "€", "£", "¥", "%", "&", "*", "#", "@", "^", "~", "|", "`", "\\", "/", "\"", "'", "«»", "“”", "‘’",
        "…", "·", "§", "©", "®", "™", "°", "±", "×", "÷", "∑", "∞", "≠", "→", "⇒", "√", "∫", "、", "。", "！", "？", "，", "\u0000",
        "\u0001", "\u001F", "\u007F",
    ];

    private static readonly string[] Emoji =
    [
        "🦙", "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸", "🏳️‍🌈", "❤️", "✨", "🤖", "🧑🏿‍💻", "🔥🔥", "🙏",
    ];

    private static readonly string[] Combining = ["\u0301", "\u0300", "\u0308", "\u0327", "\u20DD", "\u093F", "\u0E31", "\uFE0F", "\u200D"];

    // Assigned in Unicode 16.0, unassigned in llama.cpp's Unicode 15.1 tables.
    private static readonly string[] NewerUnicode = ["\u1C89", "\u1C8A", "\uA7CB", "\u0897", "\U00013460", "\U0001FAE9", "\U00016D40"];

    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'", "''", "'x"];

    private static readonly string[] Code =
    [
        "def f(x):\n    return x ** 2\n", "int main() { return 0; }", "for (int i = 0; i < n; ++i)", "if x != None:",
        "<div class=\"a\">", "SELECT * FROM t;", "a_b_c", "camelCaseWord", "0x1F", "3.14159", "1e-5", "https://example.com/a?b=c",
        "    \n    \n", "\t\t}", "// comment", "#include <stdio.h>",
    ];

    private static readonly string[] SpecialLike =
    [
        "<s>", "</s>", "<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|eot_id|>",
        "<|start_header_id|>", "<fim_prefix>", "<|user|>", "<|assistant|>", "<|end|>", "<|im_", "<s", "</", "|>", "<|", "<<s>>",
        "<｜end▁of▁sentence｜>", "▁",
    ];

    /// <summary>A random input, UTF-8; one in twelve has invalid UTF-8 mixed in.</summary>
    public byte[] Next()
    {
        var text = new StringBuilder();
        int parts = _random.Next(20) == 0 ? 200 : 1 + _random.Next(12);
        for (int i = 0; i < parts; i++)
        {
            AppendPart(text);
        }

        var utf8 = Encoding.UTF8.GetBytes(text.ToString());
        return _random.Next(12) == 0 ? WithInvalidUtf8(utf8) : utf8;
    }

    private void AppendPart(StringBuilder text)
    {
        switch (_random.Next(14))
        {
            case 0 or 1: text.Append(Pick(Words)); break;
            case 2: text.Append(Pick(Whitespace)); break;
            case 3: text.Append(Pick(Whitespace)[0], 1 + _random.Next(40)); break;
            case 4: text.Append(Digits(1 + _random.Next(_random.Next(4) == 0 ? 40 : 8))); break;
            case 5: text.Append(Pick(Symbols)); break;
            case 6: text.Append(Pick(Emoji)); break;
            case 7: text.Append(Pick(Words)).Append(Pick(Combining)); break;
            case 8: text.Append(Pick(Contractions)); break;
            case 9: text.Append(Pick(Code)); break;
            case 10: text.Append(_random.Next(3) == 0 && specialTexts.Count > 0 ? Pick(specialTexts) : Pick(SpecialLike)); break;
            case 11: text.Append(Pick(NewerUnicode)); break;
            case 12: text.Append(RandomScalars(1 + _random.Next(6))); break;
            default: text.Append(AsciiWord()); break;
        }
    }

    private string Pick(IReadOnlyList<string> options) => options[_random.Next(options.Count)];

    private string Digits(int count) => string.Create(count, _random, (span, r) =>
    {
        for (int i = 0; i < span.Length; i++)
        {
            span[i] = (char)('0' + r.Next(10));
        }
    });

    private string AsciiWord() => string.Create(1 + _random.Next(12), _random, (span, r) =>
    {
        for (int i = 0; i < span.Length; i++)
        {
            span[i] = (char)(r.Next(2) == 0 ? 'a' + r.Next(26) : 'A' + r.Next(26));
        }
    });

    // Any Unicode scalar value, weighted towards the BMP.
    private string RandomScalars(int count)
    {
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            int codepoint;
            do
            {
                codepoint = _random.Next(3) == 0 ? _random.Next(0x110000) : _random.Next(0x10000);
            }
            while (codepoint is >= 0xD800 and <= 0xDFFF);

            text.Append(char.ConvertFromUtf32(codepoint));
        }

        return text.ToString();
    }

    // Stray continuation bytes, truncated sequences, overlong forms, encoded surrogates, bytes that start nothing,
    // inserted between characters. (Never so as to form a four-byte sequence above U+10FFFF: llama.cpp aborts on them.)
    private byte[] WithInvalidUtf8(byte[] utf8)
    {
        byte[][] damage = [[0x80], [0xBF], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC0, 0x80], [0xC1, 0xBF], [0xED, 0xA0, 0x80], [0xF8], [0xFF], [0xFE, 0x41]];
        var result = new List<byte>(utf8);
        int count = 1 + _random.Next(3);
        for (int i = 0; i < count; i++)
        {
            int at = _random.Next(result.Count + 1);
            while (at < result.Count && (result[at] & 0xC0) == 0x80)
            {
                at++;
            }

            result.InsertRange(at, damage[_random.Next(damage.Length)]);
        }

        return [.. result];
    }
}
