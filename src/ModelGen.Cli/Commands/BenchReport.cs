using System.Globalization;
using System.Text.Json;
using ModelGen.Gguf;
using ModelGen.Runtime.Benchmarking;

namespace ModelGen.Cli.Commands;

/// <summary>One engine's line of a <c>modelgen bench</c> report: its speed in a warm process, and its cold start.</summary>
internal sealed record BenchRow(EngineResult Speed, ColdStart ColdStart);

/// <summary>
/// One <c>modelgen bench</c> run, written as a table for people or as JSON or CSV for scripts (one record per engine,
/// as llama-bench's <c>-o json</c> and <c>-o csv</c> give one per test).
/// </summary>
internal sealed record BenchReport(string Model, long TensorBytes, long Parameters, int Threads, int PromptTokens, int GeneratedTokens,
    int Repetitions, double BandwidthBytesPerSecond, long BytesPerToken, IReadOnlyList<BenchRow> Rows)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private const double Mebibyte = 1024 * 1024;

    /// <summary>The prompt a cold start prefills before its first token: the pp test's, and one token when that has none.</summary>
    public int FirstTokenPromptTokens => Math.Max(PromptTokens, 1);

    /// <summary>Decode tokens per second if each token only had to read its weights once at the measured bandwidth.</summary>
    public double Roofline => BandwidthBytesPerSecond / BytesPerToken;

    public void WriteMarkdown(TextWriter output)
    {
        output.WriteLine($"{DisplayText.Escape(Model)}: {Format.Bytes(TensorBytes)}, {Format.Count(Parameters)} parameters, {Threads} threads");
        output.WriteLine();
        output.WriteLine($"| engine    | pp{PromptTokens} tok/s        | tg{GeneratedTokens} tok/s         | tg share of roofline | load ms            | first token ms     | peak RSS MiB       |");
        output.WriteLine("| --------- | ----------------: | -----------------: | -------------------: | -----------------: | -----------------: | -----------------: |");
        foreach (var (speed, cold) in Rows)
        {
            output.WriteLine(string.Create(Invariant,
                $"| {speed.Engine,-9} | {speed.Prefill,17} | {speed.Decode,18} | {speed.Decode.Mean / Roofline,19:P0} | {Cell(cold.LoadSeconds, 1e3),18} | {Cell(cold.FirstTokenSeconds, 1e3),18} | {Cell(cold.PeakResidentBytes, 1 / Mebibyte),18} |"));
        }

        output.WriteLine();
        output.WriteLine(string.Create(Invariant,
            $"roofline: {BandwidthBytesPerSecond / 1e9:0.0} GB/s measured read bandwidth / {Format.Bytes(BytesPerToken)} read per token = {Roofline:0.0} tok/s"));
        output.WriteLine(string.Create(Invariant,
            $"cold start: a fresh process to the model loaded, and to the first token's logits (pp{FirstTokenPromptTokens}); peak RSS its VmHWM; median (min–max) of {Repetitions}"));
    }

    /// <summary>A cold-start figure in a table: median (least–greatest), in the unit <paramref name="scale"/> converts to.</summary>
    private static string Cell(Spread spread, double scale) =>
        string.Create(Invariant, $"{spread.Median * scale:0} ({spread.Min * scale:0}–{spread.Max * scale:0})");

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
        json.WriteNumber("first_token_n_prompt", FirstTokenPromptTokens);
        json.WriteStartArray("engines");
        foreach (var (speed, cold) in Rows)
        {
            json.WriteStartObject();
            json.WriteString("engine", speed.Engine);
            json.WriteNumber("prefill_tokens_per_second", speed.Prefill.Mean);
            json.WriteNumber("prefill_stddev", speed.Prefill.StandardDeviation);
            json.WriteNumber("decode_tokens_per_second", speed.Decode.Mean);
            json.WriteNumber("decode_stddev", speed.Decode.StandardDeviation);
            json.WriteNumber("decode_roofline_share", speed.Decode.Mean / Roofline);
            foreach (var (name, spread) in ColdStartNames.Zip(ColdStartFigures(cold)))
            {
                json.WriteNumber(name + "_median", spread.Median);
                json.WriteNumber(name + "_min", spread.Min);
                json.WriteNumber(name + "_max", spread.Max);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
    }

    public void WriteCsv(TextWriter output)
    {
        output.WriteLine("model,engine,threads,n_prompt,n_gen,repetitions,prefill_tokens_per_second,prefill_stddev,decode_tokens_per_second,decode_stddev,decode_roofline_share," +
                         "first_token_n_prompt," + string.Join(',', ColdStartNames.SelectMany(name => new[] { name + "_median", name + "_min", name + "_max" })));
        foreach (var (speed, cold) in Rows)
        {
            var coldStart = string.Join(',', ColdStartFigures(cold).SelectMany(spread => new[] { spread.Median, spread.Min, spread.Max })
                .Select(value => value.ToString("R", Invariant)));
            output.WriteLine(string.Create(Invariant,
                $"{Quoted(Model)},{Quoted(speed.Engine)},{Threads},{PromptTokens},{GeneratedTokens},{Repetitions},{speed.Prefill.Mean:R},{speed.Prefill.StandardDeviation:R},{speed.Decode.Mean:R},{speed.Decode.StandardDeviation:R},{speed.Decode.Mean / Roofline:R},{FirstTokenPromptTokens},{coldStart}"));
        }
    }

    /// <summary>The JSON and CSV names of <see cref="ColdStartFigures"/>, each written as _median, _min and _max.</summary>
    private static readonly string[] ColdStartNames = ["load_seconds", "first_token_seconds", "peak_rss_bytes"];

    private static Spread[] ColdStartFigures(ColdStart cold) => [cold.LoadSeconds, cold.FirstTokenSeconds, cold.PeakResidentBytes];

    /// <summary>A CSV field, quoted as RFC 4180 quotes one, and with control characters escaped: file names come from users.</summary>
    private static string Quoted(string field) => "\"" + DisplayText.Escape(field, int.MaxValue).Replace("\"", "\"\"") + "\"";
}
