using System.Globalization;
using System.Text.Json;
using ModelGen.Gguf;
using ModelGen.Runtime.Benchmarking;

namespace ModelGen.Cli.Commands;

/// <summary>
/// One <c>modelgen bench</c> run, written as a table for people or as JSON or CSV for scripts (one record per engine,
/// as llama-bench's <c>-o json</c> and <c>-o csv</c> give one per test).
/// </summary>
internal sealed record BenchReport(string Model, long TensorBytes, long Parameters, int Threads, int PromptTokens, int GeneratedTokens,
    int Repetitions, double BandwidthBytesPerSecond, long BytesPerToken, IReadOnlyList<EngineResult> Rows)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Decode tokens per second if each token only had to read its weights once at the measured bandwidth.</summary>
    public double Roofline => BandwidthBytesPerSecond / BytesPerToken;

    public void WriteMarkdown(TextWriter output)
    {
        output.WriteLine($"{DisplayText.Escape(Model)}: {Format.Bytes(TensorBytes)}, {Format.Count(Parameters)} parameters, {Threads} threads");
        output.WriteLine();
        output.WriteLine($"| engine    | pp{PromptTokens} tok/s        | tg{GeneratedTokens} tok/s         | tg share of roofline |");
        output.WriteLine("| --------- | ----------------: | -----------------: | -------------------: |");
        foreach (var row in Rows)
        {
            output.WriteLine(string.Create(Invariant, $"| {row.Engine,-9} | {row.Prefill,17} | {row.Decode,18} | {row.Decode.Mean / Roofline,19:P0} |"));
        }

        output.WriteLine();
        output.WriteLine(string.Create(Invariant,
            $"roofline: {BandwidthBytesPerSecond / 1e9:0.0} GB/s measured read bandwidth / {Format.Bytes(BytesPerToken)} read per token = {Roofline:0.0} tok/s"));
    }

    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("model", Model);
        json.WriteNumber("tensor_bytes", TensorBytes);
        json.WriteNumber("parameters", Parameters);
        json.WriteNumber("threads", Threads);
        json.WriteNumber("n_prompt", PromptTokens);
        json.WriteNumber("n_gen", GeneratedTokens);
        json.WriteNumber("repetitions", Repetitions);
        json.WriteNumber("bandwidth_bytes_per_second", BandwidthBytesPerSecond);
        json.WriteNumber("bytes_per_token", BytesPerToken);
        json.WriteNumber("roofline_tokens_per_second", Roofline);
        json.WriteStartArray("engines");
        foreach (var row in Rows)
        {
            json.WriteStartObject();
            json.WriteString("engine", row.Engine);
            json.WriteNumber("prefill_tokens_per_second", row.Prefill.Mean);
            json.WriteNumber("prefill_stddev", row.Prefill.StandardDeviation);
            json.WriteNumber("decode_tokens_per_second", row.Decode.Mean);
            json.WriteNumber("decode_stddev", row.Decode.StandardDeviation);
            json.WriteNumber("decode_roofline_share", row.Decode.Mean / Roofline);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
    }

    public void WriteCsv(TextWriter output)
    {
        output.WriteLine("model,engine,threads,n_prompt,n_gen,repetitions,prefill_tokens_per_second,prefill_stddev,decode_tokens_per_second,decode_stddev,decode_roofline_share");
        foreach (var row in Rows)
        {
            output.WriteLine(string.Create(Invariant,
                $"{Quoted(Model)},{Quoted(row.Engine)},{Threads},{PromptTokens},{GeneratedTokens},{Repetitions},{row.Prefill.Mean:R},{row.Prefill.StandardDeviation:R},{row.Decode.Mean:R},{row.Decode.StandardDeviation:R},{row.Decode.Mean / Roofline:R}"));
        }
    }

    /// <summary>A CSV field, quoted as RFC 4180 quotes one, and with control characters escaped: file names come from users.</summary>
    private static string Quoted(string field) => "\"" + DisplayText.Escape(field, int.MaxValue).Replace("\"", "\"\"") + "\"";
}
