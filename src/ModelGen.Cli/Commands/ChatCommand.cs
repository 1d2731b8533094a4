using System.CommandLine;
using System.Text;
using ModelGen.Gguf;
using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Generation;

namespace ModelGen.Cli.Commands;

/// <summary><c>modelgen chat [MODEL]</c>: an interactive session with the model's chat template (or plain text).</summary>
/// <remarks>
/// The action is synchronous on purpose: System.CommandLine handles SIGINT itself only for asynchronous actions
/// (it cancels their token and ends the process two seconds later), which would end the session at the first
/// Ctrl-C. Here Ctrl-C during a reply stops that reply only, and the session goes on.
/// </remarks>
internal static class ChatCommand
{
    private const string Fence = "\"\"\"";

    private const string Description =
        "Chat with a model. Each line is a message; a line ending in \\ continues on the next, and lines between two " +
        "lines of \"\"\" are one message. Blank lines are ignored. /help lists the commands (/clear, /exit); //text " +
        "sends \"/text\". Ctrl-C stops a reply; at the prompt, or a second time, it ends the session, as does end of input.";

    private const string Help =
        """"
        /clear   forget the conversation (the system prompt is kept)
        /exit    end the session (as does end of input, Ctrl-D)
        /help    this list
        //text   send "/text" as a message
        A line ending in \ continues on the next line; lines between two lines of """ are one message.
        Ctrl-C stops a reply (it is left out of the conversation, with its message); at the prompt it ends the session.
        """";

    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var system = new Option<string?>("--system") { Description = "A system prompt" };
        var tokens = new Option<int>("-n", "--n-predict") { Description = "Tokens per reply at most", DefaultValueFactory = _ => 256 }
            .Allow(n => n >= 1, "at least 1");
        var sampling = new SamplingArguments();
        var threads = CommandLine.Threads();
        var context = CommandLine.Context();
        var command = new Command("chat", Description) { model, system, tokens, threads, context };
        sampling.AddTo(command);
        command.SetAction(result => CommandLine.Run(() =>
        {
            var path = result.GetValue(model);
            using var m = CommandLine.LoadForGeneration(path, result.GetValue(threads), result.GetValue(context));
            var template = ChatTemplate.Create(m.ChatTemplate, m.Tokenizer, path is null ? DefaultModel.FileName : Path.GetFileName(path),
                report: problem => Console.Error.WriteLine($"modelgen: {DisplayText.Escape(problem, maxLength: 500)}"));
            var systemPrompt = result.GetValue(system);
            Console.Error.WriteLine($"modelgen: chat template {template.Name}; /help lists commands, Ctrl-C stops a reply, /exit or end of input quits");
            var session = new ChatSession(m.Generator, template, systemPrompt);
            session.ContextShifted += shift => Console.Error.WriteLine(
                $"modelgen: context full: dropped the oldest {shift.DroppedTurns} turn(s){(systemPrompt is null ? "" : ", kept the system prompt")}; " +
                $"the conversation is now {shift.PromptTokens} of {shift.ContextLength} tokens");
            var options = new GenerationOptions { MaxTokens = result.GetValue(tokens), Sampling = sampling.Read(result), StopStrings = sampling.StopStrings(result) };
            Converse(session, options);
        }));
        return command;
    }

    private static void Converse(ChatSession session, GenerationOptions options)
    {
        bool terminal = !Console.IsOutputRedirected;
        var interrupt = new ReplyInterrupt();
        Console.CancelKeyPress += interrupt.OnCancelKeyPress;
        try
        {
            // Prompts are for someone typing; from a file or a pipe they would only litter stderr.
            var prompts = Console.IsInputRedirected ? TextWriter.Null : Console.Error;
            while (ReadEntry(Console.In, prompts) is { } entry)
            {
                var message = entry.Text;
                if (entry.IsSingleLine && message.TrimStart().StartsWith('/'))
                {
                    message = message.Trim();
                    if (message == "/exit")
                    {
                        return;
                    }

                    if (!message.StartsWith("//", StringComparison.Ordinal))
                    {
                        RunCommand(message, session);
                        continue;
                    }

                    message = message[1..];
                }

                if (string.IsNullOrWhiteSpace(message))
                {
                    continue;
                }

                var stop = interrupt.BeginReply();
                try
                {
                    foreach (var piece in session.Send(message, options, stop))
                    {
                        // Generated text on a terminal must not drive it; redirected, it is written exactly.
                        Console.Out.Write(CommandLine.ForStdout(piece, terminal));
                        Console.Out.Flush();
                    }

                    Console.Out.WriteLine();
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    Console.Out.WriteLine();
                    Console.Error.WriteLine("modelgen: reply stopped; it and its message are left out of the conversation");
                }
                catch (PromptTooLongException e)
                {
                    Console.Error.WriteLine($"modelgen: this message does not fit in the context even without earlier turns " +
                                            $"({e.PromptTokens} tokens, the context holds {e.ContextLength}): shorten it or raise -c");
                }
                finally
                {
                    interrupt.EndReply();
                }
            }
        }
        finally
        {
            Console.CancelKeyPress -= interrupt.OnCancelKeyPress;
        }
    }

    /// <summary>Runs <c>/clear</c> or <c>/help</c>; any other command gets one line saying it is unknown.</summary>
    private static void RunCommand(string command, ChatSession session)
    {
        switch (command)
        {
            case "/clear":
                session.Clear();
                Console.Error.WriteLine(session.Messages.Count > 0 ? "modelgen: conversation cleared; the system prompt is kept" : "modelgen: conversation cleared");
                break;
            case "/help":
                Console.Error.WriteLine(Help);
                break;
            default:
                var shown = DisplayText.Escape(command);
                Console.Error.WriteLine($"modelgen: unknown command {shown}; /help lists the commands, and /{shown} sends \"{shown}\" as a message");
                break;
        }
    }

    /// <summary>What the user typed: one line (which may be a command), or a message of several lines.</summary>
    private readonly record struct Entry(string Text, bool IsSingleLine);

    /// <summary>
    /// Reads one entry, prompting on <paramref name="prompts"/>: a line; lines joined while each ends in <c>\</c>; or
    /// the lines between two <c>"""</c> lines, kept as they are. Null at the end of input, which also ends an open
    /// block or continuation.
    /// </summary>
    private static Entry? ReadEntry(TextReader input, TextWriter prompts)
    {
        prompts.Write("> ");
        var line = input.ReadLine();
        if (line is null)
        {
            return null;
        }

        if (line.Trim() == Fence)
        {
            var block = new StringBuilder();
            while (true)
            {
                prompts.Write("... ");
                var next = input.ReadLine();
                if (next is null || next.Trim() == Fence)
                {
                    return new Entry(block.ToString(), IsSingleLine: false);
                }

                block.Append(block.Length > 0 ? "\n" : "").Append(next);
            }
        }

        if (!line.EndsWith('\\'))
        {
            return new Entry(line, IsSingleLine: true);
        }

        var joined = new StringBuilder(line, 0, line.Length - 1, line.Length);
        while (true)
        {
            prompts.Write("... ");
            var next = input.ReadLine();
            if (next is null)
            {
                return new Entry(joined.ToString(), IsSingleLine: false);
            }

            bool continues = next.EndsWith('\\');
            joined.Append('\n').Append(next, 0, continues ? next.Length - 1 : next.Length);
            if (!continues)
            {
                return new Entry(joined.ToString(), IsSingleLine: false);
            }
        }
    }

    /// <summary>
    /// Ctrl-C during a reply stops the reply; at the prompt, or again before a stopped reply has ended, it ends the
    /// session the way an unhandled SIGINT does (exit status 130), as llama.cpp's interactive mode does.
    /// </summary>
    private sealed class ReplyInterrupt
    {
        private readonly Lock _lock = new();
        private CancellationTokenSource? _reply;

        /// <summary>A token that the next Ctrl-C cancels, until <see cref="EndReply"/>.</summary>
        public CancellationToken BeginReply()
        {
            lock (_lock)
            {
                _reply = new CancellationTokenSource();
                return _reply.Token;
            }
        }

        public void EndReply()
        {
            lock (_lock)
            {
                _reply?.Dispose();
                _reply = null;
            }
        }

        public void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
        {
            lock (_lock)
            {
                if (_reply is { IsCancellationRequested: false } reply)
                {
                    e.Cancel = true;
                    reply.Cancel();
                    return;
                }
            }

            // Ending: start the shell's prompt on a line of its own.
            Console.Error.WriteLine();
        }
    }
}
