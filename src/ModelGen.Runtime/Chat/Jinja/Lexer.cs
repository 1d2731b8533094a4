using System.Globalization;
using System.Text;

namespace ModelGen.Runtime.Chat.Jinja;

internal enum TokenKind
{
    /// <summary>Template text outside tags, whitespace control already applied.</summary>
    Text,

    /// <summary><c>{{</c></summary>
    OutputBegin,

    /// <summary><c>}}</c></summary>
    OutputEnd,

    /// <summary><c>{%</c></summary>
    BlockBegin,

    /// <summary><c>%}</c></summary>
    BlockEnd,
    Name,
    String,
    Integer,
    Float,

    /// <summary>Punctuation and operators: <c>+ - * / // % ** ~ == != &lt; &gt; &lt;= &gt;= = ( ) [ ] { } , . : |</c>.</summary>
    Operator,
    End,
}

internal readonly record struct Token(TokenKind Kind, string Value, int Line)
{
    public bool Is(TokenKind kind, string value) => Kind == kind && Value == value;

    public bool IsOperator(string value) => Is(TokenKind.Operator, value);

    public bool IsName(string value) => Is(TokenKind.Name, value);

    public override string ToString() => Kind switch
    {
        TokenKind.Text => "text",
        TokenKind.End => "the end of the template",
        TokenKind.String => "a string",
        TokenKind.OutputBegin => "'{{'",
        TokenKind.OutputEnd => "'}}'",
        TokenKind.BlockBegin => "'{%'",
        TokenKind.BlockEnd => "'%}'",
        _ => $"'{Value}'",
    };
}

/// <summary>
/// Splits a template into text and the tokens inside its tags, with the whitespace control Hugging Face renders chat
/// templates with: <c>trim_blocks</c> (the first newline after a block or comment tag is dropped) and
/// <c>lstrip_blocks</c> (spaces and tabs before a block or comment tag at the start of a line are dropped), and the
/// tags' own <c>-</c> (strip all whitespace on that side) and <c>+</c> (keep it).
/// </summary>
internal sealed class Lexer
{
    private readonly string _source;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _line = 1;

    /// <summary>
    /// As Jinja reads a template: line ends normalized to <c>\n</c>, and one newline at the very end dropped
    /// (<c>keep_trailing_newline</c> is off).
    /// </summary>
    private Lexer(string source)
    {
        source = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        _source = source.EndsWith('\n') ? source[..^1] : source;
    }

    public static List<Token> Tokenize(string source)
    {
        var lexer = new Lexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        bool stripNextText = false;
        while (_pos < _source.Length)
        {
            int tag = FindTagStart(_pos);
            int textEnd = tag < 0 ? _source.Length : tag;
            var text = _source.AsSpan(_pos, textEnd - _pos);
            int textLine = _line;
            bool lineStarting = _pos == 0 || _source[_pos - 1] == '\n';
            if (stripNextText)
            {
                text = text.TrimStart();
            }

            if (tag >= 0)
            {
                char kind = _source[tag + 1];
                char sign = tag + 2 < _source.Length ? _source[tag + 2] : '\0';
                if (sign == '-')
                {
                    text = text.TrimEnd();
                }
                else if (sign != '+' && kind != '{')
                {
                    // lstrip_blocks: only blanks between the line's start and the tag.
                    int lineStart = text.LastIndexOf('\n') + 1;
                    if ((lineStart > 0 || lineStarting) && IsBlank(text[lineStart..]))
                    {
                        text = text[..lineStart];
                    }
                }
            }

            if (!text.IsEmpty)
            {
                _tokens.Add(new Token(TokenKind.Text, text.ToString(), textLine));
            }

            Advance(textEnd);
            if (tag < 0)
            {
                break;
            }

            stripNextText = _source[tag + 1] switch
            {
                '#' => Comment(),
                '{' => Tag(TokenKind.OutputBegin, TokenKind.OutputEnd, '}'),
                _ => Tag(TokenKind.BlockBegin, TokenKind.BlockEnd, '%'),
            };
        }

        _tokens.Add(new Token(TokenKind.End, "", _line));
    }

    private static bool IsBlank(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (c is not (' ' or '\t' or '\r' or '\f' or '\v'))
            {
                return false;
            }
        }

        return true;
    }

    private int FindTagStart(int from)
    {
        while (true)
        {
            int i = _source.IndexOf('{', from);
            if (i < 0 || i + 1 >= _source.Length)
            {
                return -1;
            }

            if (_source[i + 1] is '{' or '%' or '#')
            {
                return i;
            }

            from = i + 1;
        }
    }

    /// <summary>Moves to <paramref name="to"/>, counting lines.</summary>
    private void Advance(int to)
    {
        _line += _source.AsSpan(_pos, to - _pos).Count('\n');
        _pos = to;
    }

    /// <summary>Skips a comment; true when its end asks to strip the whitespace after it.</summary>
    private bool Comment()
    {
        int startLine = _line;
        int end = _source.IndexOf("#}", _pos + 2, StringComparison.Ordinal);
        if (end < 0)
        {
            throw new TemplateException("a comment {# is never closed by #}", startLine);
        }

        bool strip = _source[end - 1] == '-' && end - 1 >= _pos + 2;
        bool keep = _source[end - 1] == '+' && end - 1 >= _pos + 2;
        Advance(end + 2);
        return AfterTagEnd(strip, keep, trimNewline: true);
    }

    /// <summary>Lexes the inside of <c>{{ }}</c> or <c>{% %}</c>; true when its end asks to strip the whitespace after it.</summary>
    private bool Tag(TokenKind begin, TokenKind end, char closing)
    {
        int tagLine = _line;
        _tokens.Add(new Token(begin, "", _line));
        Advance(_pos + 2);
        if (_pos < _source.Length && _source[_pos] is '-' or '+')
        {
            _pos++;
        }

        // As Jinja's lexer: inside brackets, "}}" closes a dict literal rather than the tag.
        var brackets = new Stack<char>();
        while (true)
        {
            SkipWhitespace();
            if (_pos >= _source.Length)
            {
                throw new TemplateException(
                    brackets.Count > 0 ? $"a '{brackets.Peek()}' is missing in this tag"
                    : closing == '}' ? "an expression {{ is never closed by }}"
                    : "a block {% is never closed by %}",
                    tagLine);
            }

            char c = _source[_pos];
            if (brackets.Count > 0)
            {
                Bracket(brackets, c);
                LexToken();
                continue;
            }

            if ((c is '-' or '+') && At(_pos + 1, closing) && At(_pos + 2, '}'))
            {
                _tokens.Add(new Token(end, "", _line));
                Advance(_pos + 3);
                return AfterTagEnd(strip: c == '-', keep: c == '+', trimNewline: closing == '%');
            }

            if (c == closing && At(_pos + 1, '}'))
            {
                _tokens.Add(new Token(end, "", _line));
                Advance(_pos + 2);
                return AfterTagEnd(strip: false, keep: false, trimNewline: closing == '%');
            }

            Bracket(brackets, c);
            LexToken();
        }
    }

    /// <summary>Keeps the closing brackets expected, innermost on top; a closing bracket that is not the one expected is an error.</summary>
    private void Bracket(Stack<char> expected, char c)
    {
        switch (c)
        {
            case '(':
                expected.Push(')');
                break;
            case '[':
                expected.Push(']');
                break;
            case '{':
                expected.Push('}');
                break;
            case ')' or ']' or '}':
                if (!expected.TryPop(out char closing) || closing != c)
                {
                    throw new TemplateException(closing != '\0' ? $"unexpected '{c}', expected '{closing}'" : $"unexpected '{c}'", _line);
                }

                break;
        }
    }

    /// <summary>trim_blocks: a block or comment tag swallows one newline right after it, unless it ends with <c>+</c>.</summary>
    private bool AfterTagEnd(bool strip, bool keep, bool trimNewline)
    {
        if (!strip && !keep && trimNewline && At(_pos, '\n'))
        {
            Advance(_pos + 1);
        }

        return strip;
    }

    private bool At(int index, char c) => index < _source.Length && _source[index] == c;

    private void SkipWhitespace()
    {
        int i = _pos;
        while (i < _source.Length && char.IsWhiteSpace(_source[i]))
        {
            i++;
        }

        Advance(i);
    }

    private static readonly string[] Operators =
        ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"];

    private void LexToken()
    {
        char c = _source[_pos];
        int start = _pos;
        if (char.IsAsciiLetter(c) || c == '_')
        {
            while (_pos < _source.Length && (char.IsAsciiLetterOrDigit(_source[_pos]) || _source[_pos] == '_'))
            {
                _pos++;
            }

            _tokens.Add(new Token(TokenKind.Name, _source[start.._pos], _line));
            return;
        }

        if (char.IsAsciiDigit(c))
        {
            Number();
            return;
        }

        if (c is '\'' or '"')
        {
            StringLiteral(c);
            return;
        }

        foreach (var op in Operators)
        {
            if (string.CompareOrdinal(_source, _pos, op, 0, op.Length) == 0)
            {
                _tokens.Add(new Token(TokenKind.Operator, op, _line));
                _pos += op.Length;
                return;
            }
        }

        throw new TemplateException($"unexpected character {DescribeChar(c)} in a tag", _line);
    }

    private static string DescribeChar(char c) => char.IsControl(c) || char.IsWhiteSpace(c) || char.IsSurrogate(c)
        ? $"U+{(int)c:X4}"
        : $"'{c}'";

    private void Number()
    {
        int start = _pos;
        bool isFloat = false;
        SkipDigits();
        if (At(_pos, '.') && _pos + 1 < _source.Length && char.IsAsciiDigit(_source[_pos + 1]))
        {
            isFloat = true;
            _pos++;
            SkipDigits();
        }

        if (_pos < _source.Length && _source[_pos] is 'e' or 'E')
        {
            int mark = _pos++;
            if (_pos < _source.Length && _source[_pos] is '+' or '-')
            {
                _pos++;
            }

            if (_pos < _source.Length && char.IsAsciiDigit(_source[_pos]))
            {
                isFloat = true;
                SkipDigits();
            }
            else
            {
                _pos = mark;
            }
        }

        var text = _source[start.._pos].Replace("_", "", StringComparison.Ordinal);
        if (isFloat)
        {
            _tokens.Add(new Token(TokenKind.Float, text, _line));
        }
        else if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            _tokens.Add(new Token(TokenKind.Integer, text, _line));
        }
        else
        {
            throw new TemplateException($"the integer {text} is too large", _line);
        }
    }

    private void SkipDigits()
    {
        while (_pos < _source.Length && (char.IsAsciiDigit(_source[_pos]) || (_source[_pos] == '_' && _pos + 1 < _source.Length && char.IsAsciiDigit(_source[_pos + 1]))))
        {
            _pos++;
        }
    }

    /// <summary>A quoted string with Python's escapes (<c>\n \t \r \\ \' \" \xHH \uHHHH \UHHHHHHHH</c>, ...).</summary>
    private void StringLiteral(char quote)
    {
        int line = _line;
        var value = new StringBuilder();
        int i = _pos + 1;
        while (true)
        {
            if (i >= _source.Length)
            {
                throw new TemplateException("a string is never closed", line);
            }

            char c = _source[i];
            if (c == quote)
            {
                break;
            }

            if (c != '\\' || i + 1 >= _source.Length)
            {
                value.Append(c);
                i++;
                continue;
            }

            char e = _source[i + 1];
            i += 2;
            switch (e)
            {
                case 'n': value.Append('\n'); break;
                case 't': value.Append('\t'); break;
                case 'r': value.Append('\r'); break;
                case '0': value.Append('\0'); break;
                case 'a': value.Append('\a'); break;
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'v': value.Append('\v'); break;
                case '\\' or '\'' or '"': value.Append(e); break;
                case '\n': break;
                case 'x' or 'u' or 'U':
                    int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + digits > _source.Length
                        || !int.TryParse(_source.AsSpan(i, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code)
                        || !Rune.IsValid(code))
                    {
                        throw new TemplateException($"a string has a malformed \\{e} escape", _line);
                    }

                    value.Append(new Rune(code).ToString());
                    i += digits;
                    break;
                default:
                    // Python keeps an unknown escape as it is written.
                    value.Append('\\').Append(e);
                    break;
            }
        }

        _tokens.Add(new Token(TokenKind.String, value.ToString(), line));
        Advance(i + 1);
    }
}
