using System.Globalization;
using System.Runtime.CompilerServices;

namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>
/// Builds the syntax tree of a template from its tokens, by recursive descent with Jinja's operator precedence
/// (lowest first): <c>x if c else y</c>, <c>or</c>, <c>and</c>, <c>not</c>, comparisons and <c>in</c>, <c>+ -</c>,
/// <c>~</c>, <c>* / // %</c>, <c>**</c>, unary <c>- +</c>, then filters, tests, calls, attributes and subscripts.
/// </summary>
/// <remarks>
/// Nesting is bounded by <see cref="TemplateLimits.MaxDepth"/> so that neither this parser nor the interpreter
/// walking the tree can exhaust the stack: each level of blocks, brackets and operands counts, an operand chain
/// such as <c>a + b + c</c> one level per operator.
/// </remarks>
internal sealed class Parser
{
    private readonly List<Token> _tokens;
    private readonly int _maxDepth;
    private int _index;
    private int _depth;

    private Parser(List<Token> tokens, int maxDepth)
    {
        _tokens = tokens;
        _maxDepth = maxDepth;
    }

    public static IReadOnlyList<Node> Parse(string source, TemplateLimits limits)
    {
        var parser = new Parser(Lexer.Tokenize(source), limits.MaxDepth);
        var (body, end) = parser.Body();
        if (end is not null)
        {
            throw new TemplateException($"'{end}' without a block to end", parser.Current.Line);
        }

        return body;
    }

    private Token Current => _tokens[_index];

    private Token Peek(int ahead = 1) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    private Token Next() => _tokens[_index < _tokens.Count - 1 ? _index++ : _index];

    private TemplateException Error(string message) => new(message, Current.Line);

    private TemplateException Unexpected(string expected) => Error($"expected {expected}, found {Current}");

    private void Expect(TokenKind kind, string what)
    {
        if (Current.Kind != kind)
        {
            throw Unexpected(what);
        }

        Next();
    }

    private void ExpectOperator(string op)
    {
        if (!Current.IsOperator(op))
        {
            throw Unexpected($"'{op}'");
        }

        Next();
    }

    private bool SkipOperator(string op)
    {
        if (!Current.IsOperator(op))
        {
            return false;
        }

        Next();
        return true;
    }

    private bool SkipName(string name)
    {
        if (!Current.IsName(name))
        {
            return false;
        }

        Next();
        return true;
    }

    private string ExpectName(string what)
    {
        if (Current.Kind != TokenKind.Name)
        {
            throw Unexpected(what);
        }

        return Next().Value;
    }

    /// <summary>One level deeper; the caller undoes it with <see cref="Leave"/>.</summary>
    private void Enter()
    {
        if (++_depth > _maxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw Error($"the template nests blocks or expressions more than {_maxDepth} deep");
        }
    }

    private void Leave(int levels = 1) => _depth -= levels;

    /// <summary>
    /// Statements up to the end of the template or a block tag named in <paramref name="ends"/>, which is consumed
    /// up to its name and returned (null at the end of the template).
    /// </summary>
    private (List<Node> Body, string? End) Body(params string[] ends)
    {
        var body = new List<Node>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.End:
                    if (ends.Length > 0)
                    {
                        throw Error($"the template ends before {string.Join(" or ", ends.Select(e => $"'{e}'"))}");
                    }

                    return (body, null);
                case TokenKind.Text:
                    Next();
                    body.Add(new TextNode(token.Line, token.Value));
                    break;
                case TokenKind.OutputBegin:
                    Next();
                    var value = Expression();
                    Expect(TokenKind.OutputEnd, "'}}'");
                    body.Add(new OutputNode(token.Line, value));
                    break;
                case TokenKind.BlockBegin:
                    if (Peek().Kind == TokenKind.Name && Array.IndexOf(ends, Peek().Value) >= 0)
                    {
                        Next();
                        return (body, Next().Value);
                    }

                    Next();
                    Statement(body);
                    break;
                default:
                    throw Unexpected("text or a tag");
            }
        }
    }

    private void Statement(List<Node> body)
    {
        var token = Current;
        if (token.Kind != TokenKind.Name)
        {
            throw Unexpected("a statement name");
        }

        Enter();
        Next();
        switch (token.Value)
        {
            case "if":
                body.Add(If(token.Line));
                break;
            case "for":
                body.Add(For(token.Line));
                break;
            case "set":
                body.Add(Set(token.Line));
                break;
            case "macro":
                body.Add(Macro(token.Line));
                break;
            case "break":
                Expect(TokenKind.BlockEnd, "'%}'");
                body.Add(new BreakNode(token.Line));
                break;
            case "continue":
                Expect(TokenKind.BlockEnd, "'%}'");
                body.Add(new ContinueNode(token.Line));
                break;
            case "generation":
                // Hugging Face's marker of assistant text for training masks: rendering keeps the body as it is.
                Expect(TokenKind.BlockEnd, "'%}'");
                var (inner, _) = Body("endgeneration");
                Expect(TokenKind.BlockEnd, "'%}'");
                body.AddRange(inner);
                break;
            case "elif" or "else" or "endif" or "endfor" or "endset" or "endmacro" or "endgeneration":
                throw new TemplateException($"'{token.Value}' without a block to end", token.Line);
            default:
                throw new TemplateException($"the statement '{token.Value}' is not supported in chat templates", token.Line);
        }

        Leave();
    }

    private IfNode If(int line)
    {
        var branches = new List<(Expr, IReadOnlyList<Node>)>();
        IReadOnlyList<Node> otherwise = [];
        var condition = Expression();
        while (true)
        {
            Expect(TokenKind.BlockEnd, "'%}'");
            var (body, end) = Body("elif", "else", "endif");
            branches.Add((condition, body));
            if (end == "elif")
            {
                condition = Expression();
                continue;
            }

            if (end == "else")
            {
                Expect(TokenKind.BlockEnd, "'%}'");
                (otherwise, _) = Body("endif");
            }

            Expect(TokenKind.BlockEnd, "'%}'");
            return new IfNode(line, branches, otherwise);
        }
    }

    private ForNode For(int line)
    {
        var targets = new List<string> { ExpectName("a loop variable") };
        while (SkipOperator(","))
        {
            targets.Add(ExpectName("a loop variable"));
        }

        if (!SkipName("in"))
        {
            throw Unexpected("'in'");
        }

        var items = Expression(withCondition: false);
        var filter = SkipName("if") ? Expression() : null;
        if (Current.IsName("recursive"))
        {
            throw Error("recursive loops are not supported in chat templates");
        }

        Expect(TokenKind.BlockEnd, "'%}'");
        var (body, end) = Body("else", "endfor");
        IReadOnlyList<Node> otherwise = [];
        if (end == "else")
        {
            Expect(TokenKind.BlockEnd, "'%}'");
            (otherwise, _) = Body("endfor");
        }

        Expect(TokenKind.BlockEnd, "'%}'");
        return new ForNode(line, targets, items, filter, body, otherwise);
    }

    private Node Set(int line)
    {
        var name = ExpectName("a variable name");
        if (SkipOperator("."))
        {
            var attribute = ExpectName("an attribute name");
            ExpectOperator("=");
            var assigned = Expression();
            Expect(TokenKind.BlockEnd, "'%}'");
            return new SetAttributeNode(line, new NameExpr(line, name), attribute, assigned);
        }

        var targets = new List<string> { name };
        while (SkipOperator(","))
        {
            targets.Add(ExpectName("a variable name"));
        }

        if (targets.Count == 1 && Current.Kind == TokenKind.BlockEnd)
        {
            Next();
            var (body, _) = Body("endset");
            Expect(TokenKind.BlockEnd, "'%}'");
            return new SetBlockNode(line, name, body);
        }

        ExpectOperator("=");
        var value = Expression();
        Expect(TokenKind.BlockEnd, "'%}'");
        return new SetNode(line, targets, value);
    }

    private MacroNode Macro(int line)
    {
        var name = ExpectName("a macro name");
        ExpectOperator("(");
        var parameters = new List<(string, Expr?)>();
        while (!SkipOperator(")"))
        {
            if (parameters.Count > 0)
            {
                ExpectOperator(",");
                if (SkipOperator(")"))
                {
                    break;
                }
            }

            var parameter = ExpectName("a parameter name");
            parameters.Add((parameter, SkipOperator("=") ? Expression() : null));
        }

        Expect(TokenKind.BlockEnd, "'%}'");
        var (body, _) = Body("endmacro");
        if (Current.Kind == TokenKind.Name)
        {
            Next();
        }

        Expect(TokenKind.BlockEnd, "'%}'");
        return new MacroNode(line, name, parameters, body);
    }

    // Expressions, lowest precedence first.

    private Expr Expression(bool withCondition = true)
    {
        Enter();
        var expr = Or();
        int chained = 0;
        while (withCondition && Current.IsName("if"))
        {
            int line = Next().Line;
            Enter();
            chained++;
            var condition = Or();
            var otherwise = SkipName("else") ? Expression() : null;
            expr = new ConditionalExpr(line, condition, expr, otherwise);
        }

        Leave(chained + 1);
        return expr;
    }

    private Expr Or() => LeftAssociative(And, "or");

    private Expr And() => LeftAssociative(Not, "and");

    private Expr Not()
    {
        if (!Current.IsName("not"))
        {
            return Compare();
        }

        int line = Next().Line;
        Enter();
        var operand = Not();
        Leave();
        return new UnaryExpr(line, "not", operand);
    }

    private Expr Compare()
    {
        var first = Sum();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            string op;
            if (Current.Kind == TokenKind.Operator && Current.Value is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                op = Next().Value;
            }
            else if (Current.IsName("in"))
            {
                Next();
                op = "in";
            }
            else if (Current.IsName("not") && Peek().IsName("in"))
            {
                Next();
                Next();
                op = "not in";
            }
            else
            {
                break;
            }

            Enter();
            rest.Add((op, Sum()));
        }

        Leave(rest.Count);
        return rest.Count == 0 ? first : new CompareExpr(first.Line, first, rest);
    }

    private Expr Sum() => LeftAssociative(Concatenation, "+", "-");

    private Expr Concatenation() => LeftAssociative(Product, "~");

    private Expr Product() => LeftAssociative(Power, "*", "/", "//", "%");

    private Expr Power() => LeftAssociative(() => Unary(withFilters: true), "**");

    /// <summary><paramref name="operand"/> (op <paramref name="operand"/>)*, for operators or keywords in <paramref name="operators"/>.</summary>
    private Expr LeftAssociative(Func<Expr> operand, params string[] operators)
    {
        var left = operand();
        int chained = 0;
        while ((Current.Kind == TokenKind.Operator || (Current.Kind == TokenKind.Name && Current.Value is "and" or "or"))
               && Array.IndexOf(operators, Current.Value) >= 0)
        {
            var op = Next();
            Enter();
            chained++;
            left = new BinaryExpr(op.Line, op.Value, left, operand());
        }

        Leave(chained);
        return left;
    }

    private Expr Unary(bool withFilters)
    {
        Expr expr;
        if (Current.IsOperator("-") || Current.IsOperator("+"))
        {
            var op = Next();
            Enter();
            expr = new UnaryExpr(op.Line, op.Value, Unary(withFilters: false));
            Leave();
        }
        else
        {
            expr = Postfix(Primary());
        }

        return withFilters ? FiltersAndTests(expr) : expr;
    }

    private Expr Primary()
    {
        var token = Next();
        switch (token.Kind)
        {
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(token.Line, true),
                    "false" or "False" => new LiteralExpr(token.Line, false),
                    "none" or "None" => new LiteralExpr(token.Line, null),
                    _ => new NameExpr(token.Line, token.Value),
                };
            case TokenKind.String:
                var text = token.Value;
                while (Current.Kind == TokenKind.String)
                {
                    text += Next().Value;
                }

                return new LiteralExpr(token.Line, text);
            case TokenKind.Integer:
                return new LiteralExpr(token.Line, long.Parse(token.Value, CultureInfo.InvariantCulture));
            case TokenKind.Float:
                return new LiteralExpr(token.Line, double.Parse(token.Value, CultureInfo.InvariantCulture));
            case TokenKind.Operator when token.Value == "(":
                return Parenthesized(token.Line);
            case TokenKind.Operator when token.Value == "[":
                return new ListExpr(token.Line, Sequence("]"));
            case TokenKind.Operator when token.Value == "{":
                return Dict(token.Line);
            default:
                _index--;
                throw Unexpected("an expression");
        }
    }

    /// <summary>After <c>(</c>: a parenthesized expression, or a tuple (a list here).</summary>
    private Expr Parenthesized(int line)
    {
        Enter();
        if (SkipOperator(")"))
        {
            Leave();
            return new ListExpr(line, []);
        }

        var first = Expression();
        if (SkipOperator(")"))
        {
            Leave();
            return first;
        }

        ExpectOperator(",");
        var items = new List<Expr> { first };
        items.AddRange(Sequence(")"));
        Leave();
        return new ListExpr(line, items);
    }

    /// <summary>Comma-separated expressions up to <paramref name="close"/>, a trailing comma allowed.</summary>
    private List<Expr> Sequence(string close)
    {
        Enter();
        var items = new List<Expr>();
        while (!SkipOperator(close))
        {
            if (items.Count > 0)
            {
                ExpectOperator(",");
                if (SkipOperator(close))
                {
                    break;
                }
            }

            items.Add(Expression());
        }

        Leave();
        return items;
    }

    private DictExpr Dict(int line)
    {
        Enter();
        var items = new List<(Expr, Expr)>();
        while (!SkipOperator("}"))
        {
            if (items.Count > 0)
            {
                ExpectOperator(",");
                if (SkipOperator("}"))
                {
                    break;
                }
            }

            var key = Expression();
            ExpectOperator(":");
            items.Add((key, Expression()));
        }

        Leave();
        return new DictExpr(line, items);
    }

    /// <summary>Attributes, subscripts and calls after a primary expression.</summary>
    private Expr Postfix(Expr expr)
    {
        int chained = 0;
        while (true)
        {
            var token = Current;
            if (token.IsOperator("."))
            {
                Next();
                Enter();
                chained++;
                expr = Current.Kind == TokenKind.Integer
                    ? new IndexExpr(token.Line, expr, new LiteralExpr(token.Line, long.Parse(Next().Value, CultureInfo.InvariantCulture)))
                    : new AttributeExpr(token.Line, expr, ExpectName("an attribute name"));
            }
            else if (token.IsOperator("["))
            {
                Next();
                Enter();
                chained++;
                expr = Subscript(token.Line, expr);
            }
            else if (token.IsOperator("("))
            {
                Next();
                Enter();
                chained++;
                expr = new CallExpr(token.Line, expr, CallArguments());
            }
            else
            {
                Leave(chained);
                return expr;
            }
        }
    }

    private Expr Subscript(int line, Expr target)
    {
        Expr? start = Current.IsOperator(":") ? null : Expression();
        if (start is not null && SkipOperator("]"))
        {
            return new IndexExpr(line, target, start);
        }

        ExpectOperator(":");
        Expr? stop = Current.IsOperator(":") || Current.IsOperator("]") ? null : Expression();
        Expr? step = null;
        if (SkipOperator(":") && !Current.IsOperator("]"))
        {
            step = Expression();
        }

        ExpectOperator("]");
        return new SliceExpr(line, target, start, stop, step);
    }

    /// <summary>After <c>(</c>: positional then named arguments, up to <c>)</c>.</summary>
    private Arguments CallArguments()
    {
        var positional = new List<Expr>();
        var named = new List<(string, Expr)>();
        while (!SkipOperator(")"))
        {
            if (positional.Count + named.Count > 0)
            {
                ExpectOperator(",");
                if (SkipOperator(")"))
                {
                    break;
                }
            }

            if (Current.Kind == TokenKind.Name && Peek().IsOperator("="))
            {
                var name = Next().Value;
                Next();
                named.Add((name, Expression()));
            }
            else if (named.Count > 0)
            {
                throw Error("a positional argument follows a named one");
            }
            else
            {
                positional.Add(Expression());
            }
        }

        return new Arguments(positional, named);
    }

    /// <summary><c>| filter</c>, <c>is [not] test</c> and calls after a unary expression.</summary>
    private Expr FiltersAndTests(Expr expr)
    {
        int chained = 0;
        while (true)
        {
            var token = Current;
            if (token.IsOperator("|"))
            {
                Next();
                Enter();
                chained++;
                var name = ExpectName("a filter name");
                var arguments = SkipOperator("(") ? CallArguments() : Arguments.None;
                expr = new FilterExpr(token.Line, expr, name, arguments);
            }
            else if (token.IsName("is"))
            {
                Next();
                Enter();
                chained++;
                bool negated = SkipName("not");
                var name = ExpectName("a test name");
                Arguments arguments;
                if (SkipOperator("("))
                {
                    arguments = CallArguments();
                }
                else if (Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                             || Current.IsOperator("[") || Current.IsOperator("{"))
                {
                    arguments = Current.Kind == TokenKind.Name && Current.Value is "else" or "or" or "and" or "if" or "is" or "not" or "in"
                        ? Arguments.None
                        : new Arguments([Postfix(Primary())], []);
                }
                else
                {
                    arguments = Arguments.None;
                }

                expr = new TestExpr(token.Line, expr, name, arguments, negated);
            }
            else if (token.IsOperator("("))
            {
                Next();
                Enter();
                chained++;
                expr = new CallExpr(token.Line, expr, CallArguments());
            }
            else
            {
                Leave(chained);
                return expr;
            }
        }
    }
}
