namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>A node of a parsed template; <see cref="Line"/> is where errors about it point.</summary>
internal abstract record Node(int Line);

// Statements.

internal sealed record TextNode(int Line, string Text) : Node(Line);

internal sealed record OutputNode(int Line, Expr Value) : Node(Line);

internal sealed record IfNode(int Line, IReadOnlyList<(Expr Condition, IReadOnlyList<Node> Body)> Branches, IReadOnlyList<Node> Else) : Node(Line);

/// <summary><c>{% for a, b in items if filter %}body{% else %}empty{% endfor %}</c>.</summary>
internal sealed record ForNode(int Line, IReadOnlyList<string> Targets, Expr Items, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else) : Node(Line);

/// <summary><c>{% set name = value %}</c>, or <c>{% set a, b = value %}</c>.</summary>
internal sealed record SetNode(int Line, IReadOnlyList<string> Targets, Expr Value) : Node(Line);

/// <summary><c>{% set ns.attribute = value %}</c> on a <c>namespace()</c>.</summary>
internal sealed record SetAttributeNode(int Line, Expr Target, string Attribute, Expr Value) : Node(Line);

/// <summary><c>{% set name %}body{% endset %}</c>: the rendered body.</summary>
internal sealed record SetBlockNode(int Line, string Target, IReadOnlyList<Node> Body) : Node(Line);

internal sealed record MacroNode(int Line, string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Node> Body) : Node(Line);

internal sealed record BreakNode(int Line) : Node(Line);

internal sealed record ContinueNode(int Line) : Node(Line);

// Expressions.

internal abstract record Expr(int Line) : Node(Line);

internal sealed record LiteralExpr(int Line, object? Value) : Expr(Line);

internal sealed record NameExpr(int Line, string Name) : Expr(Line);

internal sealed record ListExpr(int Line, IReadOnlyList<Expr> Items) : Expr(Line);

internal sealed record DictExpr(int Line, IReadOnlyList<(Expr Key, Expr Value)> Items) : Expr(Line);

/// <summary><c>target.name</c></summary>
internal sealed record AttributeExpr(int Line, Expr Target, string Name) : Expr(Line);

/// <summary><c>target[index]</c></summary>
internal sealed record IndexExpr(int Line, Expr Target, Expr Index) : Expr(Line);

/// <summary><c>target[start:stop:step]</c>, any part omitted.</summary>
internal sealed record SliceExpr(int Line, Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr(Line);

internal sealed record Arguments(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Named)
{
    public static Arguments None { get; } = new([], []);
}

internal sealed record CallExpr(int Line, Expr Callee, Arguments Arguments) : Expr(Line);

/// <summary><c>value | name(arguments)</c></summary>
internal sealed record FilterExpr(int Line, Expr Value, string Name, Arguments Arguments) : Expr(Line);

/// <summary><c>value is [not] name(arguments)</c></summary>
internal sealed record TestExpr(int Line, Expr Value, string Name, Arguments Arguments, bool Negated) : Expr(Line);

/// <summary><c>-x</c>, <c>+x</c>, <c>not x</c>.</summary>
internal sealed record UnaryExpr(int Line, string Operator, Expr Operand) : Expr(Line);

/// <summary>Arithmetic, <c>~</c>, <c>and</c>, <c>or</c>.</summary>
internal sealed record BinaryExpr(int Line, string Operator, Expr Left, Expr Right) : Expr(Line);

/// <summary>A chain of comparisons, <c>a &lt; b &lt;= c</c>, as Python evaluates it; operators include <c>in</c> and <c>not in</c>.</summary>
internal sealed record CompareExpr(int Line, Expr First, IReadOnlyList<(string Operator, Expr Operand)> Rest) : Expr(Line);

/// <summary><c>then if condition else otherwise</c>; without <c>else</c>, undefined when the condition is false.</summary>
internal sealed record ConditionalExpr(int Line, Expr Condition, Expr Then, Expr? Otherwise) : Expr(Line);
