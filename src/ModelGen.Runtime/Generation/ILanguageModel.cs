using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Generation;

/// <summary>
/// A loaded model as its users see it, the generic engine's and every compiled class alike: its name, tokenizer,
/// chat template and generation loop. What clients such as chat, <c>IChatClient</c> and the server build on.
/// </summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>The model's <c>general.name</c> (else its file's name).</summary>
    string Name { get; }

    Tokenizer Tokenizer { get; }

    /// <summary>The generation loop over this model; its generations run one at a time.</summary>
    TextGenerator Generator { get; }

    /// <summary>The model's Jinja chat template (<c>tokenizer.chat_template</c>), if it has one.</summary>
    string? ChatTemplate { get; }
}
