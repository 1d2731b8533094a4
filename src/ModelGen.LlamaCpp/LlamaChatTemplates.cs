using System.Runtime.InteropServices;
using System.Text;

namespace ModelGen.LlamaCpp;

/// <summary>llama.cpp's built-in chat formats (<c>llama_chat_apply_template</c>), the reference for ours.</summary>
public static unsafe class LlamaChatTemplates
{
    /// <summary>The names of the formats llama.cpp has built in (<c>chatml</c>, <c>llama3</c>, <c>phi3</c>, ...).</summary>
    public static IReadOnlyList<string> BuiltIn()
    {
        LlamaCppLibrary.EnsureLoaded();
        int count = LlamaNative.ChatBuiltinTemplates(null, 0);
        var names = new nint[count];
        fixed (nint* p = names)
        {
            LlamaNative.ChatBuiltinTemplates((byte**)p, (nuint)count);
        }

        return [.. names.Select(n => Marshal.PtrToStringUTF8(n)!)];
    }

    /// <summary>
    /// <paramref name="messages"/> formatted by llama.cpp with the built-in format that <paramref name="template"/>
    /// (a format's name or a Jinja chat template) is recognised as, or null when llama.cpp recognises none.
    /// </summary>
    public static string? Apply(string template, IReadOnlyList<(string Role, string Content)> messages, bool addAssistant)
    {
        LlamaCppLibrary.EnsureLoaded();
        // Every string NUL-terminated in one pinned block: the template, then each role and content.
        var offsets = new List<int>();
        var bytes = new List<byte>();
        void Add(string text)
        {
            offsets.Add(bytes.Count);
            bytes.AddRange(Encoding.UTF8.GetBytes(text));
            bytes.Add(0);
        }

        Add(template);
        foreach (var (role, content) in messages)
        {
            Add(role);
            Add(content);
        }

        var block = bytes.ToArray();
        var chat = new LlamaNative.ChatMessage[messages.Count];
        fixed (byte* b = block)
        fixed (LlamaNative.ChatMessage* c = chat)
        {
            for (int i = 0; i < chat.Length; i++)
            {
                chat[i].Role = b + offsets[1 + (2 * i)];
                chat[i].Content = b + offsets[2 + (2 * i)];
            }

            int capacity = 1024 + (2 * block.Length);
            while (true)
            {
                var buffer = new byte[capacity];
                int length;
                fixed (byte* o = buffer)
                {
                    length = LlamaNative.ChatApplyTemplate(b, c, (nuint)chat.Length, addAssistant, o, buffer.Length);
                }

                if (length < 0)
                {
                    return null;
                }

                if (length <= buffer.Length)
                {
                    return Encoding.UTF8.GetString(buffer, 0, length);
                }

                capacity = length;
            }
        }
    }
}
