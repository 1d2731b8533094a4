using ModelGen.Runtime.Chat.Jinja;

namespace ModelGen.Runtime.Tests.Chat;

/// <summary>
/// The Jinja interpreter feature by feature. Each expected text is what Python's Jinja2 3.1.6 renders for the same
/// template and variables, in the environment Hugging Face renders chat templates with (trim_blocks, lstrip_blocks,
/// loop controls, its tojson, raise_exception and strftime_now at the fixed time below).
/// </summary>
public sealed class JinjaTemplateTests
{
    /// <summary>What strftime_now reads in these tests.</summary>
    internal static readonly DateTimeOffset Now = new(2024, 7, 26, 9, 5, 3, TimeSpan.Zero);

    private static readonly KeyValuePair<string, object?>[] Variables =
    [
        new("messages", new[]
        {
            Message("system", "Be brief."),
            Message("user", " Hello "),
            Message("assistant", "Hi there"),
            Message("user", "Who are you?"),
        }),
        new("add_generation_prompt", true),
        new("bos_token", "<s>"),
        new("eos_token", "</s>"),
        new("items", new[] { "x", "y", "z" }),
        new("s", "abcdef"),
        new("n", 7),
        new("zero", 0),
        new("d", new Dictionary<string, object?> { ["b"] = 2, ["a"] = 1 }),
        new("nothing", null),
        new("f", 2.5),
        new("text", "  The quick  brown fox  "),
        new("emoji", "héllo 😀x"),
    ];

    internal static Dictionary<string, object?> Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    internal static string Render(string template, IEnumerable<KeyValuePair<string, object?>>? variables = null, TemplateLimits? limits = null) =>
        JinjaTemplate.Parse(template, limits).Render(variables ?? Variables, () => Now);

    [Theory]
    [InlineData("{{ 'a' ~ 1 ~ none ~ true }}",
                "a1NoneTrue")]
    [InlineData("{{ \"dq\" 'adjacent' }}",
                "dqadjacent")]
    [InlineData("{{ 'esc\\t\\\\\\'\\u00e9\\x41' }}",
                "esc\t\\'éA")]
    [InlineData("{{ 1 + 2 * 3 - 4 }}|{{ 7 / 2 }}|{{ 6 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}",
                "3|3.5|3.0|3|-4|1|2|1024|0.5")]
    [InlineData("{{ 1.5 + 1 }}|{{ 0.1 + 0.2 }}|{{ 1e-5 }}|{{ 1.5e20 }}|{{ 3.0 }}|{{ -n }}|{{ +n }}",
                "2.5|0.30000000000000004|1e-05|1.5e+20|3.0|-7|7")]
    [InlineData("{{ 'ab' * 3 }}|{{ 3 * 'ab' }}|{{ [1] * 3 }}|{{ [1, 2] + [3] }}|{{ 'a' + 'b' }}",
                "ababab|ababab|[1, 1, 1]|[1, 2, 3]|ab")]
    [InlineData("{{ not zero }}{{ not n }}|{{ n and 'yes' }}|{{ zero or 'no' }}|{{ missing or 'fallback' }}|{{ '' and 'never' }}",
                "TrueFalse|yes|no|fallback|")]
    [InlineData("{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ 1 == 1.0 }}{{ true == 1 }}{{ 'a' != 'b' }}{{ 'b' >= 'a' }}{{ [1, 2] == [1, 2] }}{{ d == {'a': 1, 'b': 2} }}{{ nothing == none }}",
                "TrueFalseTrueTrueTrueTrueTrueTrueTrue")]
    [InlineData("{{ 'ell' in 'hello' }}{{ 'x' in items }}{{ 'q' not in items }}{{ 'a' in d }}{{ 'c' in d }}{{ not 'x' in items }}",
                "TrueTrueTrueTrueFalseFalse")]
    [InlineData("{{ 'x' if n > 3 else 'y' }}|{{ 'x' if n > 30 }}|{{ 'a' if zero else 'b' if n else 'c' }}",
                "x||b")]
    [InlineData("{{ s[1:] }}|{{ s[:2] }}|{{ s[:-1] }}|{{ s[::-1] }}|{{ s[::2] }}|{{ s[-2:] }}|{{ s[4:2] }}|{{ s[1:5:2] }}|{{ s[-1:-4:-1] }}",
                "bcdef|ab|abcde|fedcba|ace|ef||bd|fed")]
    [InlineData("{{ items[::-1] }}|{{ items[-1] }}|{{ items[5] }}|{{ items[1:] }}|{{ s[1] }}|{{ items.0 }}",
                "['z', 'y', 'x']|z||['y', 'z']|b|x")]
    [InlineData("{{ messages[0].role }}|{{ messages[0]['content'] }}|{{ messages[-1].content }}|{{ d.a }}{{ d['b'] }}|{{ d.missing }}|{{ messages[9] }}",
                "system|Be brief.|Who are you?|12||")]
    [InlineData("{{ missing is defined }}{{ missing is undefined }}{{ n is defined }}{{ nothing is none }}{{ n is not none }}{{ s is string }}{{ n is string }}",
                "FalseTrueTrueTrueTrueTrueFalse")]
    [InlineData("{{ n is number }}{{ n is integer }}{{ f is float }}{{ f is integer }}{{ true is boolean }}{{ d is mapping }}{{ items is mapping }}",
                "TrueTrueTrueFalseTrueTrueFalse")]
    [InlineData("{{ items is iterable }}{{ s is iterable }}{{ n is iterable }}{{ items is sequence }}{{ n is odd }}{{ n is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}",
                "TrueTrueFalseTrueTrueFalseTrueFalse")]
    [InlineData("{{ n is eq 7 }}{{ n is equalto 7 }}{{ n is ne 7 }}{{ 'x' is in items }}{{ true is true }}{{ zero is false }}{{ n is gt 3 }}{{ n is lt 3 }}{{ n is ge 7 }}{{ n is le 6 }}{{ 'ab' is lower }}{{ 'Ab' is upper }}",
                "TrueTrueFalseTrueTrueFalseTrueFalseTrueFalseTrueFalse")]
    [InlineData("{{ '  x  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ s | length }}|{{ items | length }}|{{ d | count }}|{{ missing | length }}",
                "x|hi|6|3|2|0")]
    [InlineData("{{ 'AbC' | upper }}|{{ 'AbC' | lower }}|{{ 'hello WORLD' | capitalize }}|{{ \"hello wor-ld they're\" | title }}|{{ 'aXbX' | replace('X', '-') }}",
                "ABC|abc|Hello world|Hello Wor-Ld They're|a-b-")]
    [InlineData("{{ d | tojson }}|{{ messages[0] | tojson }}|{{ [1, 'a', none, true, 2.5] | tojson }}|{{ d | tojson(sort_keys=true) }}|{{ [] | tojson(indent=4) }}|{{ 'q\"\\\\\\n\\u0001é' | tojson }}",
                "{\"b\": 2, \"a\": 1}|{\"role\": \"system\", \"content\": \"Be brief.\"}|[1, \"a\", null, true, 2.5]|{\"a\": 1, \"b\": 2}|[]|\"q\\\"\\\\\\n\\u0001é\"")]
    [InlineData("{{ {'k': [1, {'z': 'v'}], 'e': {}} | tojson(indent=2) }}",
                "{\n  \"k\": [\n    1,\n    {\n      \"z\": \"v\"\n    }\n  ],\n  \"e\": {}\n}")]
    [InlineData("{{ items | join(', ') }}|{{ items | join }}|{{ messages | join('/', attribute='role') }}|{{ items | first }}{{ items | last }}{{ s | first }}{{ s | last }}",
                "x, y, z|xyz|system/user/assistant/user|xzaf")]
    [InlineData("{{ missing | default('dflt') }}|{{ '' | default('dflt') }}|{{ '' | default('dflt', true) }}|{{ missing | d('x') }}|{{ nothing | default('n') }}",
                "dflt||dflt|x|None")]
    [InlineData("{{ s | list }}|{{ d | list }}|{{ 42 | string }}{{ none | string }}|{{ '42' | int + 1 }}|{{ '4.7' | int }}|{{ 'x' | int }}|{{ 'x' | int(5) }}|{{ 3.9 | int }}|{{ '2.5' | float }}|{{ 'a<b' | safe }}",
                "['a', 'b', 'c', 'd', 'e', 'f']|['b', 'a']|42None|43|4|0|5|3|2.5|a<b")]
    [InlineData("{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | join('|') }}|{{ messages | rejectattr('role', 'equalto', 'user') | list | length }}|{{ messages | selectattr('role', 'eq', 'system') | list | length }}",
                " Hello |Who are you?|2|1")]
    [InlineData("{{ [0, 1, 2, '', 'a'] | select | list }}|{{ [1, 2, 3, 4] | reject('odd') | list }}|{{ [1, 2, 3] | select('gt', 1) | list }}|{{ messages | selectattr('name', 'defined') | list }}|{{ messages | selectattr('content') | list | length }}",
                "[1, 2, 'a']|[2, 4]|[2, 3]|[]|4")]
    [InlineData("{{ ['b', 'A', 'c'] | sort }}|{{ [3, 1, 2] | sort(reverse=true) }}|{{ messages | sort(attribute='role') | map(attribute='role') | join(',') }}|{{ items | reverse | join }}|{{ s | reverse }}",
                "['A', 'b', 'c']|[3, 2, 1]|assistant,system,user,user|zyx|fedcba")]
    [InlineData("{{ -3 | abs }}|{{ 2.567 | round(2) }}|{{ 2.5 | round }}|{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ ['a', 'b'] | map('upper') | join }}|{{ messages | map(attribute='name', default='?') | join }}|{{ d | items | map('first') | join }}",
                "3|2.57|2.0|a\n  b\n\n  c|  a\n  b|AB|????|ba")]
    [InlineData("{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  a '.lstrip() }}|{{ ' a  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ text.split() }}|{{ 'a b c'.split(' ', 1) }}",
                "a b|a|a | a|['a', 'b', '', 'c']|['The', 'quick', 'brown', 'fox']|['a', 'b c']")]
    [InlineData("{{ s.startswith('ab') }}{{ s.endswith('ef') }}{{ s.startswith(('x', 'a')) }}|{{ s.upper() }}{{ 'ABC'.lower() }}|{{ \"hello world it's\".title() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'ab'.replace('', '-') }}|{{ 'hELLO'.capitalize() }}",
                "TrueTrueTrue|ABCDEFabc|Hello World It'S|bba|-a-b-|Hello")]
    [InlineData("{{ d.keys() | list }}|{{ d.values() | list }}|{{ d.get('a') }}{{ d.get('zz') }}{{ d.get('zz', 'dd') }}|{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}",
                "['b', 'a']|[2, 1]|1Nonedd|b=2,a=1,")]
    [InlineData("{% for m in messages %}{{ loop.index0 }}{{ loop.index }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.cycle('o', 'e') }}{{ m.role[0] }};{% endfor %}",
                "0143TrueFalse4os;1232FalseFalse4eu;2321FalseFalse4oa;3410FalseTrue4eu;")]
    [InlineData("{% for m in messages if m.role == 'user' %}{{ loop.index }}/{{ loop.length }}:{{ m.content }};{% else %}none{% endfor %}",
                "1/2: Hello ;2/2:Who are you?;")]
    [InlineData("{% for x in [] %}x{% else %}empty{% endfor %}|{% for k in d %}{{ k }}{% endfor %}|{% for c in 'abc' %}{{ c }}.{% endfor %}|{% for i in range(3) %}{{ i }}{% endfor %}|{% for i in range(1, 10, 3) %}{{ i }}{% endfor %}|{% for i in range(5, 0, -2) %}{{ i }}{% endfor %}|{% for x in missing %}x{% endfor %}",
                "empty|ba|a.b.c.|012|147|531|")]
    [InlineData("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}",
                "0134")]
    [InlineData("{% for a in [1, 2] %}{% for b in [3, 4] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %}",
                "113 214 1|123 224 2|")]
    [InlineData("{% for m in messages %}{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ loop.nextitem.role if not loop.last else '-' }} {% endfor %}",
                "->user system>assistant user>user assistant>- ")]
    [InlineData("{% set x = 1 %}{% for i in range(3) %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}",
                "1231")]
    [InlineData("{% set ns = namespace(count=0, found=false) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.count = ns.count + 1 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }}{{ ns.found }}",
                "2True")]
    [InlineData("{% set ns = namespace() %}{% set ns.x = 'v' %}{{ ns.x }}{{ ns.y is defined }}",
                "vFalse")]
    [InlineData("{% set a, b = [1, 2] %}{{ a }}{{ b }}|{% set messages = messages[1:] %}{{ messages | length }}",
                "12|3")]
    [InlineData("{% set captured %}inside {{ n }}{% endset %}[{{ captured }}]",
                "[inside 7]")]
    [InlineData("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Bob') }} {{ greet('Al', greeting='Hi') }} {{ greet(name='Cy') }}",
                "Hello, Bob! Hi, Al! Hello, Cy!")]
    [InlineData("{% macro outer(x) %}<{{ inner(x) }}>{% endmacro %}{% macro inner(y) %}{{ y * 2 }}{% endmacro %}{{ outer(21) }}",
                "<42>")]
    [InlineData("{% if zero %}a{% elif n == 7 %}b{% else %}c{% endif %}{% if missing %}x{% endif %}{% if not missing %}y{% endif %}",
                "by")]
    [InlineData("{{ {'a': 1, 'b': [1, 2]} }}|{{ [1, 'two', none, true, 2.5] }}|{{ \"it's\" }}|{{ ['it\\'s', 'q\"q'] }}|{{ none }}|{{ true }}|{{ messages[0] }}",
                "{'a': 1, 'b': [1, 2]}|[1, 'two', None, True, 2.5]|it's|[\"it's\", 'q\"q']|None|True|{'role': 'system', 'content': 'Be brief.'}")]
    [InlineData("{{ raise_exception is defined }}{{ strftime_now is defined }}{{ tools is defined }}{{ range(3) | list }}|{{ dict(a=1)['a'] }}",
                "TrueTrueFalse[0, 1, 2]|1")]
    [InlineData("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %a %j %p %I %y') }}|{{ strftime_now('%-d %%') }}",
                "26 Jul 2024|2024-07-26 09:05:03 Friday July Fri 208 AM 09 24|26 %")]
    [InlineData("{{ emoji | length }}|{{ emoji[-2] }}|{{ emoji[::-1] }}|{{ emoji | upper }}|{{ emoji[6:] }}",
                "8|😀|x😀 olléh|HÉLLO 😀X|😀x")]
    [InlineData("{# comment #}a{#- trimmed -#}   b",
                "ab")]
    [InlineData("a\n{% if true %}\nb\n{% endif %}\nc",
                "a\nb\nc")]
    [InlineData("a\n    {% if true %}\n    b\n    {% endif %}\nc",
                "a\n    b\nc")]
    [InlineData("  {{ 'x' }}  \n  {% if true %}y{% endif %}  \nz",
                "  x  \ny  \nz")]
    [InlineData("a  {%- if true -%}  b  {%- endif -%}  c",
                "abc")]
    [InlineData("a\n  {%+ if true %}b{% endif +%}\nc",
                "a\n  b\nc")]
    [InlineData("{% for m in messages %}\n  {{ m.role }}\n{% endfor %}\n",
                "  system\n  user\n  assistant\n  user\n")]
    [InlineData("x {# c #}\n  {# c2 #}\ny",
                "x y")]
    [InlineData("a {{- 'b' -}} c",
                "abc")]
    [InlineData("line1\r\n  {% if true %}\r\n  y\r\n{% endif %}",
                "line1\n  y\n")]
    [InlineData("{{ 'a' }}\n{{ 'b' }}\n",
                "a\nb")]
    [InlineData("{% set x %}\n  a\n  {% if true %}\n  b\n  {% endif %}\n{% endset %}[{{ x }}]",
                "[  a\n  b\n]")]
    [InlineData("\t{% if true %}a{% endif %}\n\tb",
                "a\tb")]
    [InlineData("{{ '{{' }}{{ '}}' }}{% if '%}' %}ok{% endif %} { not a tag }",
                "{{}}ok { not a tag }")]
    public void Renders_as_Jinja2_does(string template, string expected) => Assert.Equal(expected, Render(template));

    [Theory]
    [InlineData("{{ missing.attribute }}", 1, "'missing' is undefined")]
    [InlineData("a\n{{ d.missing.deeper }}", 2, "'dict object' has no attribute 'missing'")]
    [InlineData("{{ missing['key'] }}", 1, "'missing' is undefined")]
    [InlineData("{{ missing + 1 }}", 1, "'missing' is undefined")]
    [InlineData("{{ missing() }}", 1, "'missing' is undefined")]
    [InlineData("{{ 1 + 'a' }}", 1, "unsupported operand types for +: int and str")]
    [InlineData("{{ 1 < 'a' }}", 1, "'<' is not supported between int and str")]
    [InlineData("{{ 10 // 0 }}", 1, "integer division by zero")]
    [InlineData("{{ 9223372036854775807 + 1 }}", 1, "integer overflow in +")]
    [InlineData("{{ 2 ** 64 }}", 1, "integer overflow in **")]
    [InlineData("{{ s | frobnicate }}", 1, "the filter 'frobnicate' is not supported")]
    [InlineData("{{ s is frobnicated }}", 1, "the test 'frobnicated' is not supported")]
    [InlineData("{{ s.frobnicate() }}", 1, "'str object' has no attribute 'frobnicate'")]
    [InlineData("{{ s.strip(1, 2) }}", 1, "strip takes at most 1 arguments, 2 given")]
    [InlineData("{{ items | join(sep=',') }}", 1, "join has no parameter 'sep'")]
    [InlineData("{{ n() }}", 1, "an int is not callable")]
    [InlineData("{% for x in n %}{% endfor %}", 1, "cannot iterate over an int")]
    [InlineData("{% set n.x = 1 %}", 1, "only a namespace() takes attribute assignment, not an int")]
    [InlineData("\n\n{{ raise_exception('Conversation roles must alternate') }}", 3, "Conversation roles must alternate")]
    [InlineData("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", 1, "macro 'm' takes 1 arguments, 2 given")]
    [InlineData("{{ strftime_now('%Q') }}", 1, "strftime_now: the directive %Q is not supported")]
    public void Runtime_errors_name_the_line_and_the_cause(string template, int line, string reason)
    {
        var e = Assert.Throws<TemplateException>(() => Render(template));
        Assert.Equal(line, e.Line);
        Assert.Equal(reason, e.Reason);
        Assert.Equal($"line {line}: {reason}", e.Message);
    }

    [Fact]
    public void Raise_exception_is_marked_as_the_templates_own()
    {
        var e = Assert.Throws<TemplateException>(() => Render("{{ raise_exception('System role not supported') }}"));
        Assert.True(e.IsRaisedByTemplate);
        Assert.False(Assert.Throws<TemplateException>(() => Render("{{ 1 / 0 }}")).IsRaisedByTemplate);
    }

    [Theory]
    [InlineData("{% if x %}", 1, "the template ends before 'elif' or 'else' or 'endif'")]
    [InlineData("{% for x in y %}\n{% endif %}", 2, "'endif' without a block to end")]
    [InlineData("a\n{% endif %}", 2, "'endif' without a block to end")]
    [InlineData("{{ 'open }}", 1, "a string is never closed")]
    [InlineData("{{ x", 1, "an expression {{ is never closed by }}")]
    [InlineData("{% if x", 1, "a block {% is never closed by %}")]
    [InlineData("{# note", 1, "a comment {# is never closed by #}")]
    [InlineData("{{ (1 + }}", 1, "unexpected '}', expected ')'")]
    [InlineData("{{ [1, 2 }}\n", 1, "unexpected '}', expected ']'")]
    [InlineData("{{ f(\n1 ", 1, "a ')' is missing in this tag")]
    [InlineData("{{ x } }}", 1, "unexpected '}'")]
    [InlineData("{{ 1 + }}", 1, "expected an expression, found '}}'")]
    [InlineData("{{ x\n\n", 1, "an expression {{ is never closed by }}")]
    [InlineData("{{ x | }}", 1, "expected a filter name, found '}}'")]
    [InlineData("{% set 1 = 2 %}", 1, "expected a variable name, found '1'")]
    [InlineData("{% for in x %}{% endfor %}", 1, "expected 'in', found 'x'")]
    [InlineData("{{ f(a=1, 2) }}", 1, "a positional argument follows a named one")]
    [InlineData("{% include 'other.jinja' %}", 1, "the statement 'include' is not supported in chat templates")]
    [InlineData("{% for x in y recursive %}{% endfor %}", 1, "recursive loops are not supported in chat templates")]
    [InlineData("{{ 1 $ 2 }}", 1, "unexpected character '$' in a tag")]
    [InlineData("{{ 99999999999999999999 }}", 1, "the integer 99999999999999999999 is too large")]
    [InlineData("{{ '\\u12' }}", 1, "a string has a malformed \\u escape")]
    public void Malformed_templates_are_refused_at_parse_time(string template, int line, string reason)
    {
        var e = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse(template));
        Assert.Equal(line, e.Line);
        Assert.Equal(reason, e.Reason);
    }

    [Fact]
    public void Output_longer_than_the_limit_is_refused()
    {
        var limits = new TemplateLimits { MaxOutputLength = 1000 };
        Assert.Equal(new string('x', 1000), Render("{% for i in range(1000) %}x{% endfor %}", limits: limits));
        var e = Assert.Throws<TemplateException>(() => Render("{% for i in range(1001) %}x{% endfor %}", limits: limits));
        Assert.Equal("the rendered text grew longer than 1000 characters", e.Reason);
        e = Assert.Throws<TemplateException>(() => Render("{% set x = 'ab' * 501 %}", limits: limits));
        Assert.Equal("a string grew longer than 1000 characters", e.Reason);
        e = Assert.Throws<TemplateException>(() => Render("{{ ('ab' * 400) | replace('a', 'aaa') }}", limits: limits));
        Assert.Equal("a string grew longer than 1000 characters", e.Reason);
    }

    [Fact]
    public void Work_beyond_the_step_limit_is_refused()
    {
        var limits = new TemplateLimits { MaxSteps = 10_000 };
        Render("{% for i in range(100) %}{{ i }}{% endfor %}", limits: limits);
        var e = Assert.Throws<TemplateException>(() =>
            Render("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", limits: limits));
        Assert.Equal("rendering took more than 10000 steps", e.Reason);
    }

    [Fact]
    public void Lists_longer_than_the_limit_are_refused_before_they_are_built()
    {
        var limits = new TemplateLimits { MaxListLength = 100 };
        Assert.Equal("100", Render("{{ range(100) | length }}", limits: limits));
        Assert.Equal("a list grew longer than 100 items", Assert.Throws<TemplateException>(() => Render("{{ range(101) | length }}", limits: limits)).Reason);
        Assert.Equal("a list grew longer than 100 items", Assert.Throws<TemplateException>(() => Render("{{ range(9223372036854775807) }}", limits: limits)).Reason);
        Assert.Equal("a list grew longer than 100 items", Assert.Throws<TemplateException>(() => Render("{{ [1, 2] * 51 }}", limits: limits)).Reason);
    }

    [Fact]
    public void Nesting_and_recursion_beyond_the_depth_limit_are_refused()
    {
        var limits = new TemplateLimits { MaxDepth = 20 };
        var nested = new string('(', 30) + "1" + new string(')', 30);
        Assert.Equal("the template nests blocks or expressions more than 20 deep",
            Assert.Throws<TemplateException>(() => JinjaTemplate.Parse($"{{{{ {nested} }}}}", limits)).Reason);

        // A long operator chain is as deep as its tree, though written flat.
        var chain = string.Join(" + ", Enumerable.Repeat("1", 30));
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse($"{{{{ {chain} }}}}", limits));
        Assert.Equal("30", Render($"{{{{ {chain} }}}}"));

        var ifs = string.Concat(Enumerable.Repeat("{% if true %}", 30)) + string.Concat(Enumerable.Repeat("{% endif %}", 30));
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse(ifs, limits));

        Assert.Equal("macros call each other more than 20 deep",
            Assert.Throws<TemplateException>(() => Render("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", limits: limits)).Reason);
        Assert.Equal("a value nests more than 20 deep",
            Assert.Throws<TemplateException>(() => Render("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns }}", limits: limits)).Reason);
    }

    [Fact]
    public void A_deeply_nested_template_fails_cleanly_at_the_default_limits()
    {
        var deep = new string('[', 100_000) + new string(']', 100_000);
        var e = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{{ " + deep + " }}"));
        Assert.Contains("nests", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Strftime_now_reads_the_injected_clock()
    {
        var template = JinjaTemplate.Parse("{{ strftime_now('%d %b %Y, %H:%M') }}");
        Assert.Equal("05 Jan 2025, 23:59", template.Render([], () => new DateTimeOffset(2025, 1, 5, 23, 59, 0, TimeSpan.Zero)));
        Assert.Equal("29 Feb 2028, 00:00", template.Render([], () => new DateTimeOffset(2028, 2, 29, 0, 0, 0, TimeSpan.FromHours(5))));
    }

    [Fact]
    public void Variables_are_copied_so_the_template_cannot_change_the_callers_objects()
    {
        var messages = new List<Dictionary<string, object?>> { Message("user", "hi") };
        var template = JinjaTemplate.Parse("{% set messages = messages + messages %}{{ messages | length }}{% set ns = namespace(m=messages[0]) %}");
        Assert.Equal("2", template.Render([new("messages", messages)]));
        Assert.Single(messages);
    }

    [Fact]
    public void Variables_of_other_types_are_refused_by_name()
    {
        var template = JinjaTemplate.Parse("{{ x }}");
        var e = Assert.Throws<ArgumentException>(() => template.Render([new("x", new[] { new object() })]));
        Assert.StartsWith("the template variable x[0] is a Object, which templates cannot use", e.Message, StringComparison.Ordinal);
        Assert.Equal("3|2.5|True|None", JinjaTemplate.Parse("{{ a }}|{{ b }}|{{ c }}|{{ d }}").Render([new("a", (byte)3), new("b", 2.5f), new("c", true), new("d", null)]));
    }

    [Fact]
    public void A_parsed_template_renders_again_with_other_variables()
    {
        var template = JinjaTemplate.Parse("{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}");
        Assert.Equal("user:a;", template.Render([new("messages", new[] { Message("user", "a") })]));
        Assert.Equal("user:b;assistant:c;", template.Render([new("messages", new[] { Message("user", "b"), Message("assistant", "c") })]));
    }
}
