using System.Text.Json;
using ModelGen.LlamaCpp;
using ModelGen.Runtime.Chat.Jinja;
using ModelGen.TestSupport;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Chat;

/// <summary>
/// Real chat templates (Templates/chat-templates.json: models' own, and those of llama.cpp's test-chat-template.cpp)
/// rendered for a system prompt and a multi-turn conversation, with and without the generation prompt, against two
/// references: Python's Jinja2 (its output recorded in the file, rendered as Hugging Face renders chat templates) and
/// the pinned libllama's <c>llama_chat_apply_template</c>, which recognises a template's family by its markers and
/// formats with its own code. Where a template and llama.cpp's format disagree, the file says why.
/// </summary>
public sealed class LlamaCppChatTemplateTests(ITestOutputHelper output)
{
    private static readonly (string Role, string Content)[] Conversation =
    [
        ("system", "You are a helpful assistant"), ("user", "Hello"), ("assistant", "Hi there"),
        ("user", "Who are you"), ("assistant", "I am an assistant"), ("user", "Another question"),
    ];

    /// <summary>The four renderings of each template: with or without the system message, and the generation prompt.</summary>
    private static readonly (string Key, bool System, bool Prompt)[] Variants =
    [
        ("system, prompt", true, true), ("system, no prompt", true, false), ("no system, prompt", false, true), ("no system, no prompt", false, false),
    ];

    public static string TemplateDirectory { get; } = Path.Combine(SharedData.RepositoryRoot, "tests", "ModelGen.Runtime.Tests", "Chat", "Templates");

    /// <summary>A template and what is known of it.</summary>
    /// <param name="AddBos">The model's tokenizer adds BOS, so llama.cpp leaves the template's leading bos_token to it.</param>
    /// <param name="Jinja2">Jinja2's rendering per variant, or "error: ..." where the template raises.</param>
    /// <param name="Agrees">The variants where llama.cpp's format gives the template's text.</param>
    /// <param name="Differs">Why llama.cpp's format and the template disagree on the other variants.</param>
    public sealed record Case(string Name, string Template, string Bos, string Eos, string Family, bool AddBos,
        IReadOnlyDictionary<string, string> Jinja2, IReadOnlyList<string> Agrees, string? Differs);

    public static IReadOnlyDictionary<string, Case> Cases { get; } = Load();

    public static TheoryData<string> Names => [.. Cases.Keys];

    private static Dictionary<string, Case> Load()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(TemplateDirectory, "chat-templates.json")));
        return json.RootElement.EnumerateArray().Select(c =>
        {
            var llama = c.TryGetProperty("llamaCpp", out var l) ? l : default;
            return new Case(
                c.GetProperty("name").GetString()!,
                c.TryGetProperty("file", out var file) ? File.ReadAllText(Path.Combine(TemplateDirectory, file.GetString()!)) : c.GetProperty("template").GetString()!,
                c.GetProperty("bos").GetString()!,
                c.GetProperty("eos").GetString()!,
                c.GetProperty("family").GetString()!,
                c.TryGetProperty("addBos", out var addBos) && addBos.GetBoolean(),
                c.GetProperty("jinja2").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                llama.ValueKind == JsonValueKind.Object ? [.. llama.GetProperty("agrees").EnumerateArray().Select(a => a.GetString()!)] : [],
                llama.ValueKind == JsonValueKind.Object && llama.TryGetProperty("differs", out var d) ? d.GetString() : null);
        }).ToDictionary(c => c.Name);
    }

    private static (string Role, string Content)[] Messages(bool system) => system ? Conversation : Conversation[1..];

    /// <summary>Our rendering, or "error: ..." when the template raises.</summary>
    private static string Render(Case c, bool system, bool prompt)
    {
        try
        {
            return JinjaTemplate.Parse(c.Template).Render(
                [
                    new("messages", Messages(system).Select(m => JinjaTemplateTests.Message(m.Role, m.Content))),
                    new("add_generation_prompt", prompt),
                    new("bos_token", c.Bos),
                    new("eos_token", c.Eos),
                ],
                () => JinjaTemplateTests.Now);
        }
        catch (TemplateException e)
        {
            return "error: " + e.Reason;
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Renders_as_Jinja2_does(string name)
    {
        var c = Cases[name];
        foreach (var (key, system, prompt) in Variants)
        {
            var expected = c.Jinja2[key];
            var actual = Render(c, system, prompt);
            if (expected.StartsWith("error: ", StringComparison.Ordinal))
            {
                // Jinja2's message names its exception type; the template's own text is what both carry.
                Assert.StartsWith("error: ", actual, StringComparison.Ordinal);
                Assert.EndsWith(actual["error: ".Length..], expected, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(expected, actual);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Agrees_with_llama_chat_apply_template_where_llama_cpp_formats_as_the_template_does(string name)
    {
        var c = Cases[name];
        foreach (var (key, system, prompt) in Variants)
        {
            var native = LlamaChatTemplates.Apply(c.Template, Messages(system), prompt);
            Assert.NotNull(native);
            var ours = Render(c, system, prompt);
            if (c.AddBos && ours.StartsWith(c.Bos, StringComparison.Ordinal))
            {
                ours = ours[c.Bos.Length..];
            }

            output.WriteLine($"{key}: {(native == ours ? "same" : "differs")}");
            if (c.Agrees.Contains(key))
            {
                Assert.Equal(native, ours);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(c.Differs), $"{name}, {key}: llama.cpp differs, and the file does not say why");
                Assert.NotEqual(native, ours);
            }
        }
    }

    /// <summary>
    /// Which of llama.cpp's built-in formats it takes each template for: the one whose output, asked for by name, is
    /// the template's. Together the cases cover most of the families llama.cpp's detection knows; the rest are listed.
    /// </summary>
    [Fact]
    public void Llama_cpp_takes_each_template_for_the_family_recorded()
    {
        var builtIn = LlamaChatTemplates.BuiltIn();
        foreach (var c in Cases.Values)
        {
            Assert.Contains(c.Family, builtIn);
            foreach (var (_, system, prompt) in Variants)
            {
                Assert.Equal(LlamaChatTemplates.Apply(c.Family, Messages(system), prompt), LlamaChatTemplates.Apply(c.Template, Messages(system), prompt));
            }
        }

        var covered = Cases.Values.Select(c => c.Family).ToHashSet();
        output.WriteLine($"{covered.Count} of llama.cpp's {builtIn.Count} built-in families covered; not covered: {string.Join(", ", builtIn.Where(b => !covered.Contains(b)))}");
        Assert.Null(LlamaChatTemplates.Apply("{{ not a template llama.cpp knows }}", Conversation, true));
    }
}
