using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelGen.Gguf;

namespace ModelGen.Cli;

/// <summary>The reports of <c>modelgen inspect</c>: metadata, tensor table and totals of a GGUF file.</summary>
internal static class InspectReport
{
    /// <summary>
    /// Writes the human-readable report, fitted to <paramref name="width"/> columns. Every text from the file (names,
    /// keys, values) is escaped (<see cref="DisplayText"/>), so that the file cannot drive the terminal.
    /// </summary>
    public static void WriteText(GgufHeader header, TextWriter output, int width)
    {
        var name = header.Metadata.TryGetString("general.name") is { } n ? DisplayText.Escape(n) : null;
        var arch = DisplayText.Escape(header.Metadata.Architecture ?? "unknown architecture");
        output.WriteLine($"{DisplayText.Escape(Path.GetFileName(header.Source))}  —  {(name is null ? arch : $"{name} ({arch})")}");
        output.WriteLine($"GGUF v{header.Version}, {Format.Bytes(header.FileLength)}, alignment {header.Alignment}, " +
                         $"tensor data at byte {Format.Int(header.DataOffset)}");
        output.WriteLine();

        output.WriteLine($"Metadata ({header.Metadata.Count} keys)");
        var keys = header.Metadata.Entries.Select(e => DisplayText.Escape(e.Key)).ToList();
        int keyWidth = Math.Min(48, keys.Select(k => k.Length).DefaultIfEmpty(0).Max());
        int typeWidth = header.Metadata.Entries.Select(e => TypeName(e.Value).Length).DefaultIfEmpty(0).Max();
        for (int i = 0; i < keys.Count; i++)
        {
            var value = header.Metadata.Entries[i].Value;
            var prefix = $"  {Format.Clip(keys[i], keyWidth).PadRight(keyWidth)}  {TypeName(value).PadRight(typeWidth)}  ";
            int valueWidth = Math.Max(16, width - prefix.Length);
            output.WriteLine(prefix + Format.Clip(DisplayText.Escape(ValueText(value), valueWidth), valueWidth));
        }

        output.WriteLine();
        output.WriteLine($"Tensors ({header.Tensors.Count})");
        var rows = header.Tensors.Select(t => new[]
        {
            DisplayText.Escape(t.Name), t.Type.Info().Name, string.Join(" × ", t.Shape), Format.Int(t.Offset), Format.Bytes(t.ByteLength),
        }).ToList();
        string[] titles = ["name", "type", "shape", "offset", "bytes"];
        var widths = titles.Select((title, c) => rows.Select(r => r[c].Length).Append(title.Length).Max()).ToArray();
        widths[0] = Math.Min(widths[0], Math.Max(12, width - 2 - widths.Skip(1).Sum() - 2 * (widths.Length - 1)));
        bool[] rightAligned = [false, false, false, true, true];
        string Row(string[] cells) => "  " + string.Join("  ", cells.Select((cell, c) =>
            rightAligned[c] ? Format.Clip(cell, widths[c]).PadLeft(widths[c]) : Format.Clip(cell, widths[c]).PadRight(widths[c]))).TrimEnd();
        output.WriteLine(Row(titles));
        foreach (var row in rows)
        {
            output.WriteLine(Row(row));
        }

        output.WriteLine();
        long parameters = header.ParameterCount, bytes = header.TensorBytes;
        output.WriteLine($"Totals: {Format.Count(parameters)} parameters ({Format.Int(parameters)}), {Format.Bytes(bytes)} of tensor data, " +
                         $"{BitsPerWeight(parameters, bytes)} bits per weight");
        foreach (var group in header.Tensors.GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteLength)))
        {
            output.WriteLine($"  {group.Key.Info().Name,-8} {group.Count(),5} tensors  {Format.Count(group.Sum(t => t.ElementCount)),10} parameters  {Format.Bytes(group.Sum(t => t.ByteLength)),10}");
        }
    }

    /// <summary>Writes the machine-readable report. Arrays carry their length and their first items.</summary>
    public static void WriteJson(GgufHeader header, Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("file", header.Source);
        json.WriteNumber("version", header.Version);
        json.WriteNumber("fileLength", header.FileLength);
        json.WriteNumber("alignment", header.Alignment);
        json.WriteNumber("dataOffset", header.DataOffset);
        json.WriteStartArray("metadata");
        foreach (var entry in header.Metadata.Entries)
        {
            json.WriteStartObject();
            json.WriteString("key", entry.Key);
            json.WriteString("type", JsonTypeName(entry.Value.Type));
            if (entry.Value.AsArray() is { } array)
            {
                json.WriteString("elementType", JsonTypeName(array.ElementType));
                json.WriteNumber("length", array.Count);
                json.WritePropertyName("items");
                WriteItems(json, array.Preview);
            }
            else
            {
                json.WritePropertyName("value");
                WriteScalar(json, entry.Value.Value);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("tensors");
        foreach (var t in header.Tensors)
        {
            json.WriteStartObject();
            json.WriteString("name", t.Name);
            json.WriteString("type", t.Type.Info().Name);
            json.WriteStartArray("shape");
            foreach (var d in t.Shape)
            {
                json.WriteNumberValue(d);
            }

            json.WriteEndArray();
            json.WriteNumber("offset", t.Offset);
            json.WriteNumber("bytes", t.ByteLength);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartObject("totals");
        json.WriteNumber("tensors", header.Tensors.Count);
        json.WriteNumber("parameters", header.ParameterCount);
        json.WriteNumber("bytes", header.TensorBytes);
        json.WriteNumber("bitsPerWeight", header.ParameterCount == 0 ? 0 : Math.Round(8.0 * header.TensorBytes / header.ParameterCount, 4));
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteItems(Utf8JsonWriter json, Array items)
    {
        json.WriteStartArray();
        foreach (var item in items)
        {
            if (item is GgufArray nested)
            {
                json.WriteStartObject();
                json.WriteString("elementType", JsonTypeName(nested.ElementType));
                json.WriteNumber("length", nested.Count);
                json.WritePropertyName("items");
                WriteItems(json, nested.Preview);
                json.WriteEndObject();
            }
            else
            {
                WriteScalar(json, item!);
            }
        }

        json.WriteEndArray();
    }

    private static void WriteScalar(Utf8JsonWriter json, object value)
    {
        switch (value)
        {
            case string s: json.WriteStringValue(s); break;
            case bool b: json.WriteBooleanValue(b); break;
            case float f when float.IsFinite(f): json.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): json.WriteNumberValue(d); break;
            case float or double: json.WriteStringValue(GgufValue.Format(value)); break;   // NaN and infinities are not JSON numbers
            case ulong u: json.WriteNumberValue(u); break;
            default: json.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
        }
    }

    private static string TypeName(GgufValue value) =>
        value.AsArray() is { } a ? $"{JsonTypeName(a.ElementType)}[{a.Count}]" : JsonTypeName(value.Type);

    private static string JsonTypeName(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => "u8",
        GgufValueType.Int8 => "i8",
        GgufValueType.UInt16 => "u16",
        GgufValueType.Int16 => "i16",
        GgufValueType.UInt32 => "u32",
        GgufValueType.Int32 => "i32",
        GgufValueType.Float32 => "f32",
        GgufValueType.Bool => "bool",
        GgufValueType.String => "string",
        GgufValueType.UInt64 => "u64",
        GgufValueType.Int64 => "i64",
        GgufValueType.Float64 => "f64",
        _ => "array",
    };

    private static string ValueText(GgufValue value)
    {
        if (value.AsArray() is not { } array)
        {
            return value.ToString();
        }

        var items = array.Preview;
        var sb = new StringBuilder("[");
        for (int i = 0; i < items.Length; i++)
        {
            sb.Append(i == 0 ? "" : ", ").Append(items.GetValue(i) is GgufArray nested ? $"[{nested.Count} items]" : GgufValue.Format(items.GetValue(i)!));
        }

        return sb.Append(array.Count > items.Length ? $", … {Format.Int(array.Count - items.Length)} more]" : "]").ToString();
    }

    private static string BitsPerWeight(long parameters, long bytes) =>
        parameters == 0 ? "0" : (8.0 * bytes / parameters).ToString("0.00", CultureInfo.InvariantCulture);
}
