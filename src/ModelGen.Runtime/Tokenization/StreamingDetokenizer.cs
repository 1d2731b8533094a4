using System.Buffers;
using System.Text;

namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// Turns generated tokens into text as they arrive: each token's piece (<see cref="Tokenizer.GetPiece"/>) is
/// appended, and only whole UTF-8 characters are released; the bytes of a character split across tokens (byte
/// fallback, byte-level BPE) wait for the rest. The concatenated output equals decoding all pieces at once.
/// </summary>
public sealed class StreamingDetokenizer
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _renderSpecial;
    private readonly byte[] _pending = new byte[3]; // an incomplete character is at most 3 bytes
    private int _pendingLength;

    /// <param name="tokenizer">The vocabulary.</param>
    /// <param name="renderSpecial">Render control tokens' text (as <c>llama_token_to_piece</c> with special).</param>
    public StreamingDetokenizer(Tokenizer tokenizer, bool renderSpecial = false)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _renderSpecial = renderSpecial;
    }

    /// <summary>Appends <paramref name="token"/> and returns the text it completes (possibly empty).</summary>
    public string Append(int token)
    {
        var piece = _tokenizer.GetPiece(token, _renderSpecial);
        if (_pendingLength == 0 && piece.IsEmpty)
        {
            return string.Empty;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(_pendingLength + piece.Length);
        try
        {
            _pending.AsSpan(0, _pendingLength).CopyTo(buffer);
            piece.CopyTo(buffer.AsSpan(_pendingLength));
            var bytes = buffer.AsSpan(0, _pendingLength + piece.Length);

            // Keep back a trailing sequence that is a valid start but incomplete; invalid bytes decode to U+FFFD now,
            // as they would in the whole text.
            int complete = bytes.Length - IncompleteTailLength(bytes);
            string text = Encoding.UTF8.GetString(bytes[..complete]);
            bytes[complete..].CopyTo(_pending);
            _pendingLength = bytes.Length - complete;
            return text;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Returns what is left (an unfinished character decodes to U+FFFD) and starts over.</summary>
    public string Flush()
    {
        string text = Encoding.UTF8.GetString(_pending.AsSpan(0, _pendingLength));
        _pendingLength = 0;
        return text;
    }

    /// <summary>
    /// Length of the longest suffix that is a proper prefix of a well-formed UTF-8 sequence (0 to 3 bytes): what more
    /// bytes could still complete.
    /// </summary>
    private static int IncompleteTailLength(ReadOnlySpan<byte> bytes)
    {
        for (int tail = Math.Min(3, bytes.Length); tail > 0; tail--)
        {
            // The suffix is incomplete, not invalid, if decoding it stops for lack of input.
            var status = Rune.DecodeFromUtf8(bytes[^tail..], out _, out int consumed);
            if (status == OperationStatus.NeedMoreData && consumed == tail)
            {
                return tail;
            }
        }

        return 0;
    }
}
