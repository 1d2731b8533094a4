using System.Runtime.CompilerServices;
using System.Text;

namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>
/// Renders a parsed template: walks its statements, evaluates expressions with Python's semantics, and counts every
/// step against <see cref="TemplateLimits"/>. One instance renders once.
/// </summary>
internal sealed class Interpreter
{
    private readonly TemplateLimits _limits;
    private long _steps;
    private int _callDepth;
    private int _line = 1;

    public Interpreter(TemplateLimits limits, Func<DateTimeOffset> clock)
    {
        _limits = limits;
        Clock = clock;
    }

    /// <summary>What <c>strftime_now</c> reads.</summary>
    public Func<DateTimeOffset> Clock { get; }

    public TemplateLimits Limits => _limits;

    /// <summary>The template's line being rendered.</summary>
    public int Line => _line;

    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    public string Render(IReadOnlyList<Node> template, Scope globals)
    {
        var output = new BoundedText(this);
        if (Execute(template, new Scope(globals), output) != Flow.Normal)
        {
            throw Fail("'break' or 'continue' outside a loop");
        }

        return output.ToString();
    }

    /// <summary>An error at the line being rendered.</summary>
    public TemplateException Fail(string message) => new(message, _line);

    /// <summary>Counts <paramref name="count"/> steps of work against <see cref="TemplateLimits.MaxSteps"/>.</summary>
    public void Step(long count = 1)
    {
        _steps += count;
        if (_steps > _limits.MaxSteps)
        {
            throw Fail($"rendering took more than {_limits.MaxSteps} steps");
        }
    }

    /// <summary>Checks a string an operation built against the length limit, and counts the work of building it.</summary>
    public string Produced(string text)
    {
        if (text.Length > _limits.MaxOutputLength)
        {
            throw Fail($"a string grew longer than {_limits.MaxOutputLength} characters");
        }

        Step(text.Length >> 4);
        return text;
    }

    /// <summary>Checks a list an operation built against the length limit, and counts the work of building it.</summary>
    public List<object?> Produced(List<object?> list)
    {
        if (list.Count > _limits.MaxListLength)
        {
            throw Fail($"a list grew longer than {_limits.MaxListLength} items");
        }

        Step(list.Count);
        return list;
    }

    private Flow Execute(IReadOnlyList<Node> nodes, Scope scope, BoundedText output)
    {
        foreach (var node in nodes)
        {
            _line = node.Line;
            Step();
            switch (node)
            {
                case TextNode text:
                    output.Append(text.Text);
                    break;
                case OutputNode print:
                    output.Append(Values.ToText(Evaluate(print.Value, scope), this));
                    break;
                case IfNode conditional:
                    var branch = conditional.Else;
                    foreach (var (condition, body) in conditional.Branches)
                    {
                        if (Values.IsTruthy(Evaluate(condition, scope)))
                        {
                            branch = body;
                            break;
                        }
                    }

                    var flow = Execute(branch, scope, output);
                    if (flow != Flow.Normal)
                    {
                        return flow;
                    }

                    break;
                case ForNode loop:
                    For(loop, scope, output);
                    break;
                case SetNode set:
                    Assign(set.Targets, Evaluate(set.Value, scope), scope);
                    break;
                case SetAttributeNode set:
                    var target = Evaluate(set.Target, scope);
                    if (target is not Namespace ns)
                    {
                        throw Fail($"only a namespace() takes attribute assignment, not {Values.Describe(target)}");
                    }

                    ns.Attributes[set.Attribute] = Evaluate(set.Value, scope);
                    break;
                case SetBlockNode set:
                    var captured = new BoundedText(this);
                    if (Execute(set.Body, scope, captured) != Flow.Normal)
                    {
                        throw Fail("'break' or 'continue' inside a set block");
                    }

                    scope.Set(set.Target, captured.ToString());
                    break;
                case MacroNode macro:
                    scope.Set(macro.Name, new Macro(macro, scope));
                    break;
                case BreakNode:
                    return Flow.Break;
                case ContinueNode:
                    return Flow.Continue;
                default:
                    throw Fail($"cannot render a {node.GetType().Name}");
            }
        }

        return Flow.Normal;
    }

    private void Assign(IReadOnlyList<string> targets, object? value, Scope scope)
    {
        if (targets.Count == 1)
        {
            scope.Set(targets[0], value);
            return;
        }

        var items = Iterate(value);
        if (items.Count != targets.Count)
        {
            throw Fail($"cannot unpack {items.Count} values into {targets.Count} names");
        }

        for (int i = 0; i < targets.Count; i++)
        {
            scope.Set(targets[i], items[i]);
        }
    }

    private void For(ForNode loop, Scope scope, BoundedText output)
    {
        var items = Iterate(Evaluate(loop.Items, scope));
        if (loop.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var item in items)
            {
                Step();
                var candidate = new Scope(scope);
                Assign(loop.Targets, item, candidate);
                if (Values.IsTruthy(Evaluate(loop.Filter, candidate)))
                {
                    kept.Add(item);
                }
            }

            items = kept;
        }

        if (items.Count == 0)
        {
            Execute(loop.Else, scope, output);
            return;
        }

        var context = new LoopContext(items);
        for (int i = 0; i < items.Count; i++)
        {
            _line = loop.Line;
            Step();
            var iteration = new Scope(scope);
            context.Index0 = i;
            iteration.Set("loop", context);
            Assign(loop.Targets, items[i], iteration);
            if (Execute(loop.Body, iteration, output) == Flow.Break)
            {
                break;
            }
        }
    }

    /// <summary>The items a for loop or unpacking goes over: a list's, a dict's keys, a string's characters.</summary>
    public List<object?> Iterate(object? value)
    {
        var items = value switch
        {
            List<object?> list => new List<object?>(list),
            OrderedDictionary<string, object?> dict => dict.Keys.Select(k => (object?)k).ToList(),
            // A string has at least half as many code points as UTF-16 units: refuse it before splitting it.
            string s when s.Length / 2 > _limits.MaxListLength => throw Fail($"a list grew longer than {_limits.MaxListLength} items"),
            string s => Strings.Characters(s),
            Undefined => [],
            _ => throw Fail($"cannot iterate over {Values.Describe(value)}"),
        };
        return Produced(items);
    }

    public object? Evaluate(Expr expr, Scope scope)
    {
        _line = expr.Line;
        Step();
        switch (expr)
        {
            case LiteralExpr literal:
                return literal.Value;
            case NameExpr name:
                return scope.TryGet(name.Name, out var value) ? value
                    : Builtins.Globals.TryGetValue(name.Name, out var function) ? function
                    : new Undefined($"'{name.Name}' is undefined");
            case ListExpr list:
                return list.Items.Select(item => Evaluate(item, scope)).ToList();
            case DictExpr dict:
                var result = new OrderedDictionary<string, object?>();
                foreach (var (keyExpr, valueExpr) in dict.Items)
                {
                    if (Evaluate(keyExpr, scope) is not string key)
                    {
                        throw Fail("dict keys must be strings in chat templates");
                    }

                    result[key] = Evaluate(valueExpr, scope);
                }

                return result;
            case AttributeExpr attribute:
                return Builtins.GetAttribute(this, Evaluate(attribute.Target, scope), attribute.Name);
            case IndexExpr index:
                return Builtins.GetItem(this, Evaluate(index.Target, scope), Evaluate(index.Index, scope));
            case SliceExpr slice:
                return Builtins.Slice(this, Evaluate(slice.Target, scope), Optional(slice.Start, scope), Optional(slice.Stop, scope), Optional(slice.Step, scope));
            case CallExpr call:
                return Call(Evaluate(call.Callee, scope), EvaluateArguments(CalleeName(call.Callee), call.Arguments, scope));
            case FilterExpr filter:
                return Builtins.Filter(Evaluate(filter.Value, scope), EvaluateArguments(filter.Name, filter.Arguments, scope));
            case TestExpr test:
                bool passed = Builtins.Test(Evaluate(test.Value, scope), EvaluateArguments(test.Name, test.Arguments, scope));
                return passed != test.Negated;
            case UnaryExpr unary:
                return Unary(unary.Operator, Evaluate(unary.Operand, scope));
            case BinaryExpr { Operator: "and" } and:
                var left = Evaluate(and.Left, scope);
                return Values.IsTruthy(left) ? Evaluate(and.Right, scope) : left;
            case BinaryExpr { Operator: "or" } or:
                var first = Evaluate(or.Left, scope);
                return Values.IsTruthy(first) ? first : Evaluate(or.Right, scope);
            case BinaryExpr binary:
                return Operators.Binary(this, binary.Operator, Evaluate(binary.Left, scope), Evaluate(binary.Right, scope));
            case CompareExpr compare:
                var current = Evaluate(compare.First, scope);
                foreach (var (op, operandExpr) in compare.Rest)
                {
                    var operand = Evaluate(operandExpr, scope);
                    if (!Operators.Compare(this, op, current, operand))
                    {
                        return false;
                    }

                    current = operand;
                }

                return true;
            case ConditionalExpr conditional:
                return Values.IsTruthy(Evaluate(conditional.Condition, scope)) ? Evaluate(conditional.Then, scope)
                    : conditional.Otherwise is null ? new Undefined("the condition of an if-expression without else was false")
                    : Evaluate(conditional.Otherwise, scope);
            default:
                throw Fail($"cannot evaluate a {expr.GetType().Name}");
        }
    }

    private object? Optional(Expr? expr, Scope scope) => expr is null ? null : Evaluate(expr, scope);

    private static string CalleeName(Expr callee) => callee switch
    {
        NameExpr name => name.Name,
        AttributeExpr attribute => attribute.Name,
        _ => "the function",
    };

    private CallArguments EvaluateArguments(string callee, Arguments arguments, Scope scope) => new(
        this,
        callee,
        arguments.Positional.Select(a => Evaluate(a, scope)).ToList(),
        arguments.Named.Select(a => (a.Name, Evaluate(a.Value, scope))).ToList());

    private object? Unary(string op, object? operand)
    {
        if (op == "not")
        {
            return !Values.IsTruthy(operand);
        }

        // Each arm boxed as it is: a switch of long and double arms would widen them all to double.
        return operand switch
        {
            long n when op == "-" => n == long.MinValue ? throw Fail("integer overflow") : (object)-n,
            double d => op == "-" ? -d : d,
            bool b => op == "-" ? -(b ? 1L : 0L) : b ? 1L : 0L,
            long n => n,
            Undefined u => throw Fail(u.Description),
            _ => throw Fail($"bad operand type for unary {op}: {Values.TypeName(operand)}"),
        };
    }

    private object? Call(object? callee, CallArguments arguments)
    {
        switch (callee)
        {
            case Macro macro:
                return CallMacro(macro, arguments);
            case BuiltinFunction function:
                return function.Invoke(arguments);
            case BoundMethod method:
                return Builtins.CallMethod(method, arguments);
            case Undefined undefined:
                throw Fail(undefined.Description);
            default:
                throw Fail($"{Values.Describe(callee)} is not callable");
        }
    }

    private string CallMacro(Macro macro, CallArguments arguments)
    {
        if (++_callDepth > _limits.MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw Fail($"macros call each other more than {_limits.MaxDepth} deep");
        }

        var definition = macro.Definition;
        var scope = new Scope(macro.Scope);
        var parameters = definition.Parameters;
        if (arguments.Positional.Count > parameters.Count)
        {
            throw Fail($"macro '{definition.Name}' takes {parameters.Count} arguments, {arguments.Positional.Count} given");
        }

        var given = new object?[parameters.Count];
        var isGiven = new bool[parameters.Count];
        for (int i = 0; i < arguments.Positional.Count; i++)
        {
            given[i] = arguments.Positional[i];
            isGiven[i] = true;
        }

        foreach (var (name, value) in arguments.Named)
        {
            int i = parameters.Select(p => p.Name).ToList().IndexOf(name);
            if (i < 0)
            {
                throw Fail($"macro '{definition.Name}' has no parameter '{name}'");
            }

            given[i] = value;
            isGiven[i] = true;
        }

        for (int i = 0; i < parameters.Count; i++)
        {
            var (name, defaultValue) = parameters[i];
            scope.Set(name, isGiven[i] ? given[i]
                : defaultValue is not null ? Evaluate(defaultValue, scope)
                : new Undefined($"'{name}' is undefined: macro '{definition.Name}' was called without it"));
        }

        var output = new BoundedText(this);
        if (Execute(definition.Body, scope, output) != Flow.Normal)
        {
            throw Fail("'break' or 'continue' outside a loop");
        }

        _callDepth--;
        return output.ToString();
    }

    /// <summary>Rendered text, bounded by <see cref="TemplateLimits.MaxOutputLength"/>.</summary>
    private sealed class BoundedText(Interpreter interpreter)
    {
        private readonly StringBuilder _text = new();

        public void Append(string text)
        {
            if (_text.Length + text.Length > interpreter._limits.MaxOutputLength)
            {
                throw interpreter.Fail($"the rendered text grew longer than {interpreter._limits.MaxOutputLength} characters");
            }

            interpreter.Step(text.Length >> 4);
            _text.Append(text);
        }

        public override string ToString() => _text.ToString();
    }
}
