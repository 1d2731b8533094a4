using System.Diagnostics;
using System.Text;
using ModelGen.Runtime.Chat.Jinja;
using ModelGen.TestSupport;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Chat;

/// <summary>
/// Templates are hostile data: random and mutated templates, and templates written to exhaust time, memory or the
/// stack, must each end with a rendering or a <see cref="TemplateException"/>, quickly. Fixed seeds.
/// </summary>
public sealed class JinjaFuzzTests(ITestOutputHelper output)
{
    private const int RandomSeed = 20261202;

    /// <summary>
    /// Far above what a case takes (milliseconds; about a second for the resource bombs, whose step limit ends them),
    /// so that only a hang fails on a machine shared with other test runs.
    /// </summary>
    private static readonly TimeSpan PerCase = TimeSpan.FromSeconds(30);

    private static readonly KeyValuePair<string, object?>[] Conversation =
    [
        new("messages", new[]
        {
            JinjaTemplateTests.Message("system", "You are a helpful assistant"),
            JinjaTemplateTests.Message("user", "Hello"),
            JinjaTemplateTests.Message("assistant", "<think>hmm</think> Hi there "),
            JinjaTemplateTests.Message("user", "Who are you"),
        }),
        new("add_generation_prompt", true),
        new("bos_token", "<s>"),
        new("eos_token", "</s>"),
    ];

    /// <summary>Pieces random templates are made of: tags, keywords, operators, names, literals, and a few stray characters.</summary>
    private static readonly string[] Fragments =
    [
        "{{", "}}", "{%", "%}", "{#", "#}", "{{-", "-}}", "{%-", "-%}", "{%+", "+%}", "\n", " ", "  ", "\t",
        "if", "elif", "else", "endif", "for", "in", "endfor", "set", "endset", "macro", "endmacro", "break", "continue",
        "not", "and", "or", "is", "defined", "none", "true", "false", "loop", ".index0", ".last", ".first", "loop.cycle(1, 2)",
        "messages", "message", "m", "x", "ns", "namespace(a=1)", "ns.a", "range(", "range(3)", "raise_exception('no')",
        "strftime_now('%d')", "message['role']", "message.content", "messages[0]", "messages[1:]", "[::-1]", "[-1]",
        "'user'", "\"text\"", "'a\\n'", "0", "1", "2.5", "-1", "100000", "(", ")", "[", "]", "{", "}", ",", ":", "=", "==",
        "!=", "<", ">", "+", "-", "*", "/", "//", "%", "**", "~", "|", "trim", "length", "tojson", "join(',')", "list",
        "selectattr('role', 'equalto', 'user')", "map(attribute='role')", "default('d')", "upper", "items", ".strip()",
        ".split(' ')", "bos_token", "eos_token", "add_generation_prompt", "'", "\"", "\\", "é", "😀", "$", "\0",
    ];

    [Fact]
    public void Random_templates_render_or_fail_with_a_template_error()
    {
        var random = new Random(RandomSeed);
        var tally = new Tally();
        for (int i = 0; i < 4000; i++)
        {
            var template = new StringBuilder();
            int length = random.Next(1, 40);
            for (int j = 0; j < length; j++)
            {
                template.Append(Fragments[random.Next(Fragments.Length)]);
            }

            tally.Run(template.ToString());
        }

        output.WriteLine(tally.ToString());
        Assert.True(tally.Failures.Count == 0, string.Join('\n', tally.Failures.Take(10)));
        Assert.InRange(tally.Rendered, 100, 3900);
    }

    /// <summary>Real templates with spans deleted, duplicated, swapped in or replaced by fragments.</summary>
    [Fact]
    public void Mutated_real_templates_render_or_fail_with_a_template_error()
    {
        var sources = Directory.GetFiles(Path.Combine(SharedData.RepositoryRoot, "tests", "ModelGen.Runtime.Tests", "Chat", "Templates"), "*.jinja")
            .Order(StringComparer.Ordinal)
            .Select(File.ReadAllText)
            .ToArray();
        Assert.NotEmpty(sources);
        var random = new Random(RandomSeed + 1);
        var tally = new Tally();
        for (int i = 0; i < 4000; i++)
        {
            var template = new StringBuilder(sources[i % sources.Length]);
            int mutations = random.Next(1, 4);
            for (int m = 0; m < mutations && template.Length > 0; m++)
            {
                int at = random.Next(template.Length);
                int span = Math.Min(random.Next(1, 12), template.Length - at);
                switch (random.Next(4))
                {
                    case 0:
                        template.Remove(at, span);
                        break;
                    case 1:
                        template.Insert(random.Next(template.Length), template.ToString(at, span));
                        break;
                    case 2:
                        template.Insert(at, Fragments[random.Next(Fragments.Length)]);
                        break;
                    default:
                        template[at] = (char)random.Next(32, 127);
                        break;
                }
            }

            tally.Run(template.ToString());
        }

        output.WriteLine(tally.ToString());
        Assert.True(tally.Failures.Count == 0, string.Join('\n', tally.Failures.Take(10)));
        Assert.InRange(tally.Rendered, 400, 3800);
    }

    [Theory]
    [InlineData("{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}")]
    [InlineData("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}")]
    [InlineData("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ns.l + [range(100000)] %}{% endfor %}")]
    [InlineData("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l | tojson }}")]
    [InlineData("{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(40) %}{% set ns.a = [ns.a, ns.a] %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}")]
    [InlineData("{% macro m(n) %}{{ m(n + 1) }}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}")]
    [InlineData("{% macro m(n) %}{% if n < 30 %}{{ m(n + 1) }}{{ m(n + 1) }}{% endif %}{% endmacro %}{{ m(0) }}")]
    [InlineData("{{ 'x' * 9223372036854775807 }}")]
    [InlineData("{{ range(-9223372036854775807, 9223372036854775807) | length }}")]
    [InlineData("{{ ('a' * 4000000) | list | length }}")]
    [InlineData("{% set s = 'ab' * 2000000 %}{% for i in range(100000) %}{{ s[i] }}{% endfor %}")]
    [InlineData("{{ 2 ** 9223372036854775807 }}")]
    public void Templates_built_to_exhaust_resources_stop_with_a_template_error(string template)
    {
        var clock = Stopwatch.StartNew();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            JinjaTemplate.Parse(template).Render(Conversation);
            Assert.Fail("rendered: " + template);
        }
        catch (TemplateException e)
        {
            output.WriteLine($"{e.Message} after {clock.ElapsedMilliseconds} ms, {(GC.GetAllocatedBytesForCurrentThread() - allocated) >> 20} MiB allocated");
        }

        Assert.InRange(clock.Elapsed, TimeSpan.Zero, PerCase);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocated, 0, 1L << 30);
    }

    /// <summary>Counts outcomes; anything but a rendering or a <see cref="TemplateException"/>, or a slow case, is a failure.</summary>
    private sealed class Tally
    {
        public int Rendered { get; private set; }

        public int Refused { get; private set; }

        public List<string> Failures { get; } = [];

        public void Run(string template)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                JinjaTemplate.Parse(template).Render(Conversation, () => JinjaTemplateTests.Now);
                Rendered++;
            }
            catch (TemplateException)
            {
                Refused++;
            }
            catch (Exception e)
            {
                Failures.Add($"{e.GetType().Name}: {e.Message} for {Quote(template)}");
            }

            if (clock.Elapsed > PerCase)
            {
                Failures.Add($"took {clock.ElapsedMilliseconds} ms: {Quote(template)}");
            }
        }

        private static string Quote(string template) => System.Text.Json.JsonSerializer.Serialize(template);

        public override string ToString() => $"{Rendered} rendered, {Refused} refused with a template error, {Failures.Count} failures";
    }
}
