namespace ModelGen.Runtime.Tokenization;

/// <summary>What a token is, as llama.cpp's <c>llama_token_attr</c> (same bit values).</summary>
[Flags]
public enum TokenAttributes
{
    /// <summary>No attribute: the token never renders.</summary>
    Undefined = 0,
    /// <summary>The unknown-token placeholder.</summary>
    Unknown = 1 << 0,
    /// <summary>Reserved and never produced.</summary>
    Unused = 1 << 1,
    /// <summary>Ordinary text.</summary>
    Normal = 1 << 2,
    /// <summary>A control token (BOS, EOS, chat markers): matched in input text only when parsing special tokens.</summary>
    Control = 1 << 3,
    /// <summary>Added text matched in input text before ordinary tokenization, even when not parsing special tokens.</summary>
    UserDefined = 1 << 4,
    /// <summary>A byte-fallback token (<c>&lt;0xXX&gt;</c>).</summary>
    Byte = 1 << 5,
    /// <summary>Text already normalized.</summary>
    Normalized = 1 << 6,
    /// <summary>Whitespace before the token in the input is dropped when the token is matched.</summary>
    LStrip = 1 << 7,
    /// <summary>Whitespace after the token in the input is dropped when the token is matched.</summary>
    RStrip = 1 << 8,
    /// <summary>Matched only as a whole word.</summary>
    SingleWord = 1 << 9,
}

/// <summary>The values of the GGUF <c>tokenizer.ggml.token_type</c> array.</summary>
public enum GgufTokenType
{
    /// <summary>No type.</summary>
    Undefined = 0,
    /// <summary>Ordinary text.</summary>
    Normal = 1,
    /// <summary>The unknown token.</summary>
    Unknown = 2,
    /// <summary>A control token.</summary>
    Control = 3,
    /// <summary>Added (user-defined) text.</summary>
    UserDefined = 4,
    /// <summary>Reserved.</summary>
    Unused = 5,
    /// <summary>A byte-fallback token.</summary>
    Byte = 6,
}
