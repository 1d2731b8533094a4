using System.Buffers.Binary;
using System.Text;
using ModelGen.TestSupport;

namespace ModelGen.Gguf.Tests;

/// <summary>
/// Malformed, truncated and hostile files: each gets a <see cref="GgufFormatException"/> naming the field and the
/// byte offset, never another exception, a hang or a large allocation.
/// </summary>
public sealed class HostileInputTests
{
    /// <summary>Assembles GGUF bytes field by field, so each test can break exactly one thing.</summary>
    private sealed class Bytes
    {
        private readonly MemoryStream _s = new();

        public long Position => _s.Position;

        public Bytes U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); _s.Write(b); return this; }

        public Bytes U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); _s.Write(b); return this; }

        public Bytes Str(string v) { var b = Encoding.UTF8.GetBytes(v); U64((ulong)b.Length); _s.Write(b); return this; }

        public Bytes Raw(params byte[] b) { _s.Write(b); return this; }

        public Bytes Header(ulong tensors, ulong kvs, uint version = 3) => U32(GgufReader.Magic).U32(version).U64(tensors).U64(kvs);

        public Bytes KvU32(string key, uint v) => Str(key).U32((uint)GgufValueType.UInt32).U32(v);

        public Bytes Tensor(string name, uint type, ulong offset, params ulong[] shape)
        {
            Str(name).U32((uint)shape.Length);
            foreach (var d in shape)
            {
                U64(d);
            }

            return U32(type).U64(offset);
        }

        public Bytes PadTo(long alignment) => Raw(new byte[(alignment - _s.Length % alignment) % alignment]);

        public byte[] ToArray() => _s.ToArray();
    }

    private static GgufFormatException Rejects(byte[] bytes, string? fieldContains = null, long? offset = null)
    {
        var ex = Assert.Throws<GgufFormatException>(() => GgufReader.ReadHeader(new MemoryStream(bytes), "hostile.gguf"));
        Assert.StartsWith("hostile.gguf: ", ex.Message);
        if (fieldContains is not null)
        {
            Assert.Contains(fieldContains, ex.Field);
        }

        if (offset is not null)
        {
            Assert.Equal(offset, ex.Offset);
        }

        return ex;
    }

    [Fact]
    public void Empty_file_and_directory_are_rejected()
    {
        Assert.Contains("empty", Rejects([], "file", 0).Problem);
        var dir = Directory.CreateTempSubdirectory("modelgen-").FullName;
        try
        {
            var ex = Assert.Throws<GgufFormatException>(() => GgufFile.Open(dir));
            Assert.Contains("directory", ex.Problem);
            File.WriteAllBytes(Path.Combine(dir, "empty.gguf"), []);
            Assert.Contains("empty", Assert.Throws<GgufFormatException>(() => GgufFile.Open(Path.Combine(dir, "empty.gguf"))).Problem);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Bad_magic_and_versions_are_rejected()
    {
        Assert.Contains("'GGML'", Rejects(new Bytes().U32(0x4C4D4747).U32(3).U64(0).U64(0).ToArray(), "magic", 0).Problem);
        Assert.Contains("version 1", Rejects(new Bytes().Header(0, 0, version: 1).ToArray(), "version", 4).Problem);
        Assert.Contains("big-endian", Rejects(new Bytes().Header(0, 0, version: 0x03000000).ToArray(), "version", 4).Problem);
        Assert.Contains("version 4", Rejects(new Bytes().Header(0, 0, version: 4).ToArray(), "version", 4).Problem);
    }

    [Theory]
    [InlineData(1UL << 63, 0UL, "tensor count", 8)]
    [InlineData(0UL, 1UL << 63, "metadata count", 16)]
    [InlineData(ulong.MaxValue, 0UL, "tensor count", 8)]
    public void Huge_counts_are_rejected_before_allocating(ulong tensors, ulong kvs, string field, long offset) =>
        Rejects(new Bytes().Header(tensors, kvs).Raw(new byte[64]).ToArray(), field, offset);

    [Fact]
    public void Huge_string_and_array_lengths_are_rejected()
    {
        // A key whose length claims 2^63 bytes.
        Rejects(new Bytes().Header(0, 1).U64(1UL << 63).Raw(new byte[32]).ToArray(), "metadata key #0", 24);

        // A string value one byte longer than what remains.
        var b = new Bytes().Header(0, 1).Str("k").U32((uint)GgufValueType.String);
        long at = b.Position;
        Assert.Contains("extends past the end", Rejects(b.U64(6).Raw("abcde"u8.ToArray()).ToArray(), "key 'k'", at).Problem);

        // Arrays of 2^63 elements, of fixed-size and of string elements.
        foreach (var type in new[] { GgufValueType.UInt8, GgufValueType.Float64, GgufValueType.String, GgufValueType.Array })
        {
            var a = new Bytes().Header(0, 1).Str("arr").U32((uint)GgufValueType.Array).U32((uint)type);
            long countAt = a.Position;
            Assert.Contains("remain", Rejects(a.U64(1UL << 63).Raw(new byte[16]).ToArray(), "array length", countAt).Problem);
        }

        // A string inside a long array that runs past the end, in header-only mode where strings are walked over.
        var strings = new Bytes().Header(0, 1).Str("tok").U32((uint)GgufValueType.Array).U32((uint)GgufValueType.String).U64(20);
        for (int i = 0; i < 19; i++)
        {
            strings.Str("t" + i);
        }

        long lastAt = strings.Position;
        var bytes = strings.U64(1000).Raw(new byte[10]).ToArray();
        var ex = Assert.Throws<GgufFormatException>(() => GgufReader.ReadHeader(new MemoryStream(bytes), "hostile.gguf", GgufReadOptions.HeaderOnly));
        Assert.Equal(lastAt, ex.Offset);
        Assert.Equal("key 'tok' item 19", ex.Field);
        Rejects(bytes, "'tok' item 19", lastAt);
    }

    [Fact]
    public void Unknown_value_types_are_rejected()
    {
        var b = new Bytes().Header(0, 1).Str("k");
        long at = b.Position;
        Assert.Contains("unknown value type 13", Rejects(b.U32(13).U32(0).ToArray(), "key 'k' type", at).Problem);

        var a = new Bytes().Header(0, 1).Str("arr").U32((uint)GgufValueType.Array);
        long elemAt = a.Position;
        Assert.Contains("unknown value type 99", Rejects(a.U32(99).U64(1).U32(0).ToArray(), "element type", elemAt).Problem);

        var boolean = new Bytes().Header(0, 1).Str("flag").U32((uint)GgufValueType.Bool);
        long boolAt = boolean.Position;
        Rejects(boolean.Raw(7).ToArray(), "flag", boolAt);
    }

    [Fact]
    public void Duplicate_and_empty_keys_are_rejected()
    {
        var b = new Bytes().Header(0, 2).KvU32("a.b", 1);
        long at = b.Position;
        Assert.Contains("duplicate key", Rejects(b.KvU32("a.b", 2).ToArray(), "key 'a.b'", at).Problem);
        Rejects(new Bytes().Header(0, 1).KvU32("", 1).ToArray(), "metadata key #0", 24);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(48u)]
    public void Alignment_must_be_a_power_of_two(uint alignment) =>
        Assert.Contains("power of 2", Rejects(new Bytes().Header(0, 1).KvU32("general.alignment", alignment).ToArray(), "general.alignment", 24).Problem);

    [Fact]
    public void Alignment_must_be_uint32() =>
        Assert.Contains("uint32", Rejects(new Bytes().Header(0, 1).Str("general.alignment").U32((uint)GgufValueType.UInt64).U64(32).ToArray(), "general.alignment", 24).Problem);

    [Theory]
    [InlineData(4u, "unknown ggml type 4")]     // Q4_2: retired by ggml
    [InlineData(31u, "unknown ggml type 31")]   // Q4_0_4_4: retired by ggml
    [InlineData(43u, "unknown ggml type 43")]
    [InlineData(0xFFFFFFFFu, "unknown ggml type 4294967295")]
    public void Unknown_tensor_types_are_rejected(uint type, string problem)
    {
        var b = new Bytes().Header(1, 0);
        long infoAt = b.Position;
        var bytes = b.Tensor("w", type, 0, 32).PadTo(32).Raw(new byte[64]).ToArray();
        var ex = Rejects(bytes, "tensor 'w' type");
        Assert.Equal(infoAt + 8 + 1 + 4 + 8, ex.Offset);
        Assert.Contains(problem, ex.Problem);
    }

    [Fact]
    public void Bad_shapes_are_rejected()
    {
        Assert.Contains("5 dimensions", Rejects(new Bytes().Header(1, 0).Tensor("w", 0, 0, 1, 1, 1, 1, 1).PadTo(32).Raw(new byte[32]).ToArray(), "dimension count").Problem);
        Assert.Contains("0 dimensions", Rejects(new Bytes().Header(1, 0).Tensor("w", 0, 0).PadTo(32).Raw(new byte[32]).ToArray(), "dimension count").Problem);
        Assert.Contains("negative", Rejects(new Bytes().Header(1, 0).Tensor("w", 0, 0, 1UL << 63).PadTo(32).ToArray(), "dimension 0").Problem);
        Assert.Contains("overflows", Rejects(new Bytes().Header(1, 0).Tensor("w", 0, 0, 1UL << 40, 1UL << 40).PadTo(32).ToArray(), "shape").Problem);
        Assert.Contains("block size 32", Rejects(new Bytes().Header(1, 0).Tensor("w", (uint)GgmlType.Q8_0, 0, 33).PadTo(32).Raw(new byte[64]).ToArray(), "shape").Problem);
        Assert.Contains("63", Rejects(new Bytes().Header(1, 0).Tensor(new string('x', 64), 0, 0, 1).PadTo(32).Raw(new byte[32]).ToArray(), "name").Problem);
    }

    [Fact]
    public void Duplicate_tensor_names_are_rejected()
    {
        var b = new Bytes().Header(2, 0).Tensor("w", 0, 0, 8);
        long at = b.Position;
        Assert.Contains("duplicate tensor name", Rejects(b.Tensor("w", 0, 32, 8).PadTo(32).Raw(new byte[64]).ToArray(), "tensor 'w'", at).Problem);
    }

    [Fact]
    public void Tensors_must_be_aligned_inside_the_file_and_apart()
    {
        var misaligned = new Bytes().Header(1, 0);
        long at = misaligned.Position;
        Assert.Contains("not a multiple of the alignment 32", Rejects(misaligned.Tensor("w", 0, 4, 8).PadTo(32).Raw(new byte[64]).ToArray(), "tensor 'w' offset", at).Problem);

        // 16 floats = 64 bytes at data offset 32, but only 64 bytes of data follow.
        var pastEnd = new Bytes().Header(1, 0).Tensor("w", 0, 32, 16).PadTo(32);
        long dataAt = pastEnd.Position;
        var ex = Rejects(pastEnd.Raw(new byte[64]).ToArray(), "tensor 'w' data", dataAt + 32);
        Assert.Contains("past the end", ex.Problem);

        Assert.Contains("beyond the end", Rejects(new Bytes().Header(1, 0).Tensor("w", 0, 1UL << 62, 8).PadTo(32).ToArray(), "offset").Problem);

        var overlap = new Bytes().Header(2, 0).Tensor("a", 0, 0, 16);
        long bAt = overlap.Position;
        ex = Rejects(overlap.Tensor("b", 0, 32, 16).PadTo(32).Raw(new byte[128]).ToArray(), "tensor 'b' offset", bAt);
        Assert.Contains("overlaps tensor 'a'", ex.Problem);
    }

    [Fact]
    public void Every_truncation_of_a_small_file_is_rejected_cleanly()
    {
        var full = SmallFile();
        var header = GgufReader.ReadHeader(new MemoryStream(full), "small.gguf");

        // Cutting only trailing padding leaves a valid file; any shorter prefix loses a field or tensor bytes.
        long end = header.DataOffset + header.Tensors.Max(t => t.Offset + t.ByteLength);
        Assert.Equal(end, GgufReader.ReadHeader(new MemoryStream(full, 0, (int)end), "small.gguf").DataOffset + 128 + 6);
        for (int n = 0; n < end; n++)
        {
            foreach (var options in new[] { new GgufReadOptions(), GgufReadOptions.HeaderOnly })
            {
                var ex = Assert.Throws<GgufFormatException>(() => GgufReader.ReadHeader(new MemoryStream(full, 0, n), "cut.gguf", options));
                Assert.InRange(ex.Offset, 0, full.Length);
            }
        }
    }

    [Fact]
    public void Truncations_of_a_real_file_at_every_field_boundary_are_rejected_cleanly()
    {
        // Every prefix of a 1.7 MB file would be n^2/2 bytes of parsing; cutting at and around every metadata
        // entry, every array item of the first 300, every tensor info and the data section covers every field kind.
        var path = Path.Combine(SharedData.Models, "llama-2-tiny-random.gguf");
        var bytes = File.ReadAllBytes(path);
        var header = GgufReader.ReadHeader(path);
        var cuts = new SortedSet<long>();
        void Around(long at)
        {
            for (long d = -9; d <= 9; d++)
            {
                if (at + d >= 0 && at + d < bytes.Length)
                {
                    cuts.Add(at + d);
                }
            }
        }

        for (long i = 0; i < 64; i++)
        {
            cuts.Add(i);
        }

        foreach (var e in header.Metadata.Entries)
        {
            Around(e.Offset);
            if (e.Value.AsArray() is { Offset: var arrayAt })
            {
                Around(arrayAt);
            }
        }

        var tokens = header.Metadata.GetStringArray("tokenizer.ggml.tokens");
        long tokenAt = header.Metadata.GetArray("tokenizer.ggml.tokens").Offset;
        for (int i = 0; i < 300; i++)
        {
            Around(tokenAt);
            tokenAt += 8 + Encoding.UTF8.GetByteCount(tokens[i]);
        }

        foreach (var t in header.Tensors)
        {
            Around(t.InfoOffset);
            Around(header.DataOffset + t.Offset + t.ByteLength);
        }

        var rng = new Random(1);
        for (int i = 0; i < 200; i++)
        {
            cuts.Add(rng.NextInt64(bytes.Length));
        }

        foreach (var n in cuts)
        {
            var options = n % 2 == 0 ? new GgufReadOptions() : GgufReadOptions.HeaderOnly;
            var ex = Assert.Throws<GgufFormatException>(() => GgufReader.ReadHeader(new MemoryStream(bytes, 0, (int)n), "cut.gguf", options));
            Assert.InRange(ex.Offset, 0, bytes.Length);
        }

        Assert.True(cuts.Count > 3000, $"only {cuts.Count} cuts");
    }

    [Fact]
    public void Random_corruption_never_escapes_as_another_exception()
    {
        var original = SmallFile();
        var rng = new Random(7);
        int rejected = 0;
        for (int i = 0; i < 3000; i++)
        {
            var bytes = (byte[])original.Clone();
            for (int k = rng.Next(1, 4); k > 0; k--)
            {
                bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            }

            try
            {
                GgufReader.ReadHeader(new MemoryStream(bytes), "fuzz.gguf");
            }
            catch (GgufFormatException)
            {
                rejected++;
            }
        }

        Assert.InRange(rejected, 100, 3000);
    }

    /// <summary>A small file with every value type, nested arrays and three tensors.</summary>
    internal static byte[] SmallFile()
    {
        var w = new GgufWriter()
            .Add("general.architecture", GgufValue.Of("llama"))
            .Add("general.alignment", GgufValue.Of(64u))
            .Add("u8", GgufValue.Of((byte)200)).Add("i8", GgufValue.Of((sbyte)-100))
            .Add("u16", GgufValue.Of((ushort)60000)).Add("i16", GgufValue.Of((short)-30000))
            .Add("i32", GgufValue.Of(-5)).Add("f32", GgufValue.Of(1.5f)).Add("bool", GgufValue.Of(true))
            .Add("u64", GgufValue.Of(ulong.MaxValue)).Add("i64", GgufValue.Of(long.MinValue)).Add("f64", GgufValue.Of(Math.PI))
            .Add("tokens", GgufValue.Array("a", "bé", "", "\u2581x", "🙂"))
            .Add("scores", GgufValue.Array(0.5f, -1f, float.NegativeInfinity))
            .Add("nested", GgufValue.Array(GgufArray.Of(new[] { 1, 2 }), GgufArray.Of(Array.Empty<int>())));
        w.AddTensor("a", GgmlType.F32, [4, 2], new byte[32]);
        w.AddTensor("b", GgmlType.Q8_0, [32], TestData.Bytes(34, 1));
        w.AddTensor("c", GgmlType.F16, [3], new byte[6]);
        var s = new MemoryStream();
        w.Write(s);
        return s.ToArray();
    }
}
