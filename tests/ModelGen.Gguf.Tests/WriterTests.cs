using ModelGen.TestSupport;

namespace ModelGen.Gguf.Tests;

public sealed class WriterTests
{
    [Fact]
    public void Every_value_type_survives_a_round_trip()
    {
        var bytes = HostileInputTests.SmallFile();
        var header = GgufReader.ReadHeader(new MemoryStream(bytes), "small.gguf");
        var md = header.Metadata;

        Assert.Equal(3u, header.Version);
        Assert.Equal(64, header.Alignment);
        Assert.Equal(0, header.DataOffset % 64);
        Assert.Equal((byte)200, md["u8"].Value);
        Assert.Equal((sbyte)-100, md["i8"].Value);
        Assert.Equal((ushort)60000, md["u16"].Value);
        Assert.Equal((short)-30000, md["i16"].Value);
        Assert.Equal(-5, md.GetInt32("i32"));
        Assert.Equal(1.5f, md.GetSingle("f32"));
        Assert.True(md.GetBoolean("bool"));
        Assert.Equal(ulong.MaxValue, md["u64"].Value);
        Assert.Equal(long.MinValue, md.GetInt64("i64"));
        Assert.Equal(Math.PI, md["f64"].Value);
        Assert.Equal(["a", "bé", "", "\u2581x", "🙂"], md.GetStringArray("tokens"));
        Assert.Equal([0.5f, -1f, float.NegativeInfinity], md.GetArray<float>("scores"));
        var nested = md.GetArray<GgufArray>("nested");
        Assert.Equal([1, 2], nested[0].ToArray<int>());
        Assert.Empty(nested[1].ToArray<int>());
        Assert.Equal(GgufValueType.Int32, nested[1].ElementType);

        Assert.Equal(["a", "b", "c"], header.Tensors.Select(t => t.Name));
        Assert.Equal([0L, 64, 128], header.Tensors.Select(t => t.Offset));
        Assert.Equal(header.DataOffset + 128 + 64, bytes.Length);

        // Written again from what was read: identical bytes.
        var again = new GgufWriter().AddAll(md);
        foreach (var t in header.Tensors)
        {
            again.AddTensor(t.Name, t.Type, [.. t.Shape], bytes.AsMemory((int)(header.DataOffset + t.Offset), (int)t.ByteLength));
        }

        var s = new MemoryStream();
        again.Write(s);
        Assert.Equal(bytes, s.ToArray());
    }

    [Fact]
    public void Tensor_data_comes_back_through_the_memory_map()
    {
        var dir = Directory.CreateTempSubdirectory("modelgen-").FullName;
        try
        {
            var path = Path.Combine(dir, "t.gguf");
            var q = TestData.Bytes(34 * 6, 3);
            var f = TestData.Bytes(4 * 10, 4);
            new GgufWriter()
                .Add("general.architecture", GgufValue.Of("test"))
                .AddTensor("q", GgmlType.Q8_0, [64, 3], q)
                .AddTensor("streamed", GgmlType.F32, [10], s => s.Write(f))
                .Write(path);

            using var file = GgufFile.Open(path);
            var qi = file.FindTensor("q")!;
            Assert.Equal(q, file.GetData(qi).ToArray());
            Assert.Equal(q.AsSpan(68, 68).ToArray(), file.GetRow(qi, 1).ToArray());
            Assert.Equal(f, file.GetData(file.FindTensor("streamed")!).ToArray());
            Assert.Throws<ArgumentOutOfRangeException>(() => file.GetRow(qi, 3));
            Assert.False(File.Exists(path + ".tmp"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Writer_refuses_what_a_reader_would_reject()
    {
        var w = new GgufWriter().Add("k", GgufValue.Of(1));
        Assert.Throws<ArgumentException>(() => w.Add("k", GgufValue.Of(2)));
        Assert.Throws<ArgumentException>(() => w.Add("general.alignment", GgufValue.Of(48u)));
        Assert.Throws<ArgumentException>(() => w.AddTensor("q", GgmlType.Q4_K, [100], new byte[144]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("f", GgmlType.F32, [4], new byte[15]));
        w.AddTensor("t", GgmlType.F32, [1], new byte[4]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("t", GgmlType.F32, [1], new byte[4]));
    }

    [Fact]
    public void Files_larger_than_4_GiB_work()
    {
        // A sparse file: a small tensor, then one that starts past 4 GiB. Only written pages take disk space.
        var dir = Directory.CreateTempSubdirectory("modelgen-").FullName;
        try
        {
            var path = Path.Combine(dir, "big.gguf");
            const long bigElements = (5L << 30) / 2;   // 5 GiB of F16
            var tail = TestData.Bytes(64, 9);
            var w = new GgufWriter()
                .AddTensor("small", GgmlType.F32, [8], new byte[32])
                .AddTensor("big", GgmlType.F16, [bigElements / 1024, 1024], stream =>
                {
                    stream.Seek(bigElements * 2 - tail.Length, SeekOrigin.Current);
                    stream.Write(tail);
                });
            w.Write(path);

            using var file = GgufFile.Open(path);
            var big = file.FindTensor("big")!;
            Assert.Equal(5L << 30, big.ByteLength);
            Assert.True(file.Header.FileLength > 5L << 30);
            Assert.Equal(tail, file.GetRow(big, big.RowCount - 1)[^tail.Length..].ToArray());
            Assert.Throws<InvalidOperationException>(() => file.GetData(big));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
