using System.Buffers.Binary;

namespace ModelGen.TestSupport.Fuzzing;

/// <summary>One mutated file: which seed, which mutant of it, what was done, and the bytes.</summary>
public sealed record Mutant(string Seed, int Index, string Mutation, byte[] Bytes)
{
    public override string ToString() => $"{Seed} #{Index} ({Mutation})";
}

/// <summary>
/// Makes mutants of one valid GGUF file. Mutant <c>i</c> depends only on the seed file and <c>i</c>, so a failure is
/// reproduced by its index alone. Most mutations land in the header, the only part the readers parse.
/// </summary>
public sealed class GgufMutator
{
    /// <summary>Values that sit on the edges of the signed and unsigned 32- and 64-bit ranges.</summary>
    private static readonly ulong[] Boundaries64 = [0, 1, 2, int.MaxValue, uint.MaxValue, (ulong)uint.MaxValue + 1, long.MaxValue, ulong.MaxValue];

    private static readonly uint[] Boundaries32 = [0, 1, 2, 3, 13, 0xFF, int.MaxValue, 0x80000000, uint.MaxValue];

    private static readonly byte[] InterestingBytes = [0, 0xFF, 0x7F, 0x80];

    private static readonly float[] InterestingFloats =
        [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -1f, 1e-45f, 3.4e38f, -0f];

    /// <summary>Hyper-parameter values to try: zero, one, odd, and too large for any shape.</summary>
    private static readonly uint[] InterestingSizes = [0, 1, 3, 7, 63, 65, 127, 4096, 1 << 20, int.MaxValue, uint.MaxValue];

    private readonly byte[] _seed;
    private readonly GgufLayout _layout;
    private readonly int _randomSeed;
    private readonly (string Name, Mutation Apply, bool Resizes)[] _mutations;

    /// <summary>Changes <paramref name="bytes"/> (or replaces it, for a change of length) and says what it did.</summary>
    private delegate string Mutation(Random random, ref byte[] bytes);

    public GgufMutator(string name, byte[] seed, int randomSeed)
    {
        Name = name;
        _seed = seed;
        _layout = new GgufLayout(seed);
        _randomSeed = randomSeed;
        _mutations =
        [
            ("bit flips", BitFlips, false),
            ("interesting byte", InterestingByte, false),
            ("boundary count", BoundaryCount, false),
            ("boundary count", BoundaryCount, false),
            ("type tag", TypeTag, false),
            ("array length", ArrayLength, false),
            ("hyper-parameter", HyperParameter, false),
            ("hyper-parameter", HyperParameter, false),
            ("tensor shape", TensorShape, false),
            ("truncation", Truncate, true),
            ("duplicated chunk", DuplicateChunk, true),
            ("removed chunk", RemoveChunk, true),
        ];
    }

    /// <summary>The seed's name, for reports.</summary>
    public string Name { get; }

    /// <summary>The unmutated file.</summary>
    public ReadOnlySpan<byte> Seed => _seed;

    /// <summary>Where the seed's header ends.</summary>
    public int DataOffset => _layout.DataOffset;

    /// <summary>Mutant number <paramref name="index"/>: one to three mutations of the seed.</summary>
    public Mutant Create(int index)
    {
        var random = new Random(unchecked(_randomSeed * 1_000_003 + index) & int.MaxValue); // not HashCode: it is salted per process
        int count = random.Next(4) == 0 ? 2 + random.Next(2) : 1;

        // Mutations that move bytes go last: the others aim at the seed's field offsets.
        var chosen = Enumerable.Range(0, count).Select(_ => _mutations[random.Next(_mutations.Length)]).OrderBy(m => m.Resizes).ToArray();
        var bytes = (byte[])_seed.Clone();
        var done = new List<string>();
        foreach (var (name, apply, _) in chosen)
        {
            if (bytes.Length == 0)
            {
                break;
            }

            done.Add($"{name}: {apply(random, ref bytes)}");
        }

        return new Mutant(Name, index, string.Join("; ", done), bytes);
    }

    /// <summary>An offset in the header most of the time, anywhere in the file otherwise.</summary>
    private int Position(Random random, int length) =>
        random.Next(8) != 0 ? random.Next(Math.Min(length, _layout.DataOffset)) : random.Next(length);

    private string BitFlips(Random random, ref byte[] bytes)
    {
        int flips = 1 + random.Next(4);
        var at = new List<string>();
        for (int i = 0; i < flips; i++)
        {
            int position = Position(random, bytes.Length), bit = random.Next(8);
            bytes[position] ^= (byte)(1 << bit);
            at.Add($"{position}.{bit}");
        }

        return "at " + string.Join(", ", at);
    }

    private string InterestingByte(Random random, ref byte[] bytes)
    {
        int position = Position(random, bytes.Length);
        bytes[position] = InterestingBytes[random.Next(InterestingBytes.Length)];
        return $"byte {position} = 0x{bytes[position]:X2}";
    }

    private string BoundaryCount(Random random, ref byte[] bytes)
    {
        var fields = random.Next(4) == 0 && _layout.ItemLengths.Count > 0 ? _layout.ItemLengths : _layout.Counts;
        var field = fields[random.Next(fields.Count)];
        if (field.Offset + field.Size > bytes.Length)
        {
            return "none (field past the end)";
        }

        if (field.Size == 8)
        {
            ulong original = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(field.Offset));
            ulong value = random.Next(4) == 0 ? original + (ulong)random.Next(-2, 3) : Boundaries64[random.Next(Boundaries64.Length)];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(field.Offset), value);
            return $"u64 at {field.Offset}: {original} -> {value}";
        }

        uint original32 = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(field.Offset));
        uint value32 = Boundaries32[random.Next(Boundaries32.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(field.Offset), value32);
        return $"u32 at {field.Offset}: {original32} -> {value32}";
    }

    private string Truncate(Random random, ref byte[] bytes)
    {
        int length = Position(random, bytes.Length);
        bytes = bytes[..length];
        return $"to {length} bytes";
    }

    private string DuplicateChunk(Random random, ref byte[] bytes)
    {
        int start = Position(random, bytes.Length);
        int length = Math.Min(1 + random.Next(64), bytes.Length - start);
        int insertAt = Position(random, bytes.Length);
        bytes = [.. bytes.AsSpan(0, insertAt), .. bytes.AsSpan(start, length), .. bytes.AsSpan(insertAt)];
        return $"{length} bytes from {start} inserted at {insertAt}";
    }

    private string RemoveChunk(Random random, ref byte[] bytes)
    {
        int start = Position(random, bytes.Length);
        int length = Math.Min(1 + random.Next(64), bytes.Length - start);
        bytes = [.. bytes.AsSpan(0, start), .. bytes.AsSpan(start + length)];
        return $"{length} bytes removed at {start}";
    }

    /// <summary>A value's type tag, an array's element type or a tensor's ggml type set to another, often valid, type.</summary>
    private string TypeTag(Random random, ref byte[] bytes)
    {
        int offset;
        string what;
        int choice = random.Next(3);
        if (choice == 0 && _layout.Scalars.Count > 0)
        {
            var scalar = _layout.Scalars[random.Next(_layout.Scalars.Count)];
            (offset, what) = (scalar.TagOffset, $"type of '{scalar.Key}'");
        }
        else if (choice == 1 && _layout.Arrays.Count > 0)
        {
            var array = _layout.Arrays[random.Next(_layout.Arrays.Count)];
            (offset, what) = (array.ElementTypeOffset, $"element type of '{array.Key}'");
        }
        else if (_layout.Tensors.Count > 0)
        {
            var tensor = _layout.Tensors[random.Next(_layout.Tensors.Count)];
            (offset, what) = (tensor.TypeOffset, $"ggml type of '{tensor.Name}'");
        }
        else
        {
            return "none (no typed field)";
        }

        uint value = random.Next(8) == 0 ? Boundaries32[random.Next(Boundaries32.Length)] : (uint)random.Next(42);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
        return $"{what} = {value}";
    }

    private string ArrayLength(Random random, ref byte[] bytes)
    {
        if (_layout.Arrays.Count == 0)
        {
            return "none (no array)";
        }

        var array = _layout.Arrays[random.Next(_layout.Arrays.Count)];
        ulong value = random.Next(3) switch
        {
            0 => array.Count + 1 + (ulong)random.Next(3),
            1 => array.Count * 2,
            _ => (ulong)random.NextInt64((long)array.Count),
        };
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(array.CountOffset), value);
        return $"'{array.Key}' count {array.Count} -> {value}";
    }

    /// <summary>A numeric metadata value (a shape, a count, an epsilon, a token id) set to an edge value.</summary>
    private string HyperParameter(Random random, ref byte[] bytes)
    {
        var numeric = _layout.Scalars.Where(s => s.Type is GgufLayout.TypeUInt32 or GgufLayout.TypeInt32 or GgufLayout.TypeFloat32
            or GgufLayout.TypeUInt64 or GgufLayout.TypeInt64 or GgufLayout.TypeFloat64).ToArray();
        if (numeric.Length == 0)
        {
            return "none (no numeric value)";
        }

        var scalar = numeric[random.Next(numeric.Length)];
        var at = bytes.AsSpan(scalar.ValueOffset);
        switch (scalar.Type)
        {
            case GgufLayout.TypeFloat32:
                float f = InterestingFloats[random.Next(InterestingFloats.Length)];
                BinaryPrimitives.WriteSingleLittleEndian(at, f);
                return $"'{scalar.Key}' = {f}";
            case GgufLayout.TypeFloat64:
                double d = InterestingFloats[random.Next(InterestingFloats.Length)];
                BinaryPrimitives.WriteDoubleLittleEndian(at, d);
                return $"'{scalar.Key}' = {d}";
            case GgufLayout.TypeUInt64 or GgufLayout.TypeInt64:
                ulong u64 = random.Next(2) == 0 ? InterestingSizes[random.Next(InterestingSizes.Length)] : Boundaries64[random.Next(Boundaries64.Length)];
                BinaryPrimitives.WriteUInt64LittleEndian(at, u64);
                return $"'{scalar.Key}' = {u64}";
            default:
                uint original = BinaryPrimitives.ReadUInt32LittleEndian(at);
                uint u32 = random.Next(4) == 0 ? original + 1 : InterestingSizes[random.Next(InterestingSizes.Length)];
                BinaryPrimitives.WriteUInt32LittleEndian(at, u32);
                return $"'{scalar.Key}' {original} -> {u32}";
        }
    }

    /// <summary>A tensor's dimension or dimension count set to an edge value, or its data offset moved.</summary>
    private string TensorShape(Random random, ref byte[] bytes)
    {
        if (_layout.Tensors.Count == 0)
        {
            return "none (no tensor)";
        }

        var tensor = _layout.Tensors[random.Next(_layout.Tensors.Count)];
        switch (random.Next(3))
        {
            case 0 when tensor.DimensionOffsets.Length > 0:
                int d = random.Next(tensor.DimensionOffsets.Length);
                ulong size = random.Next(2) == 0 ? InterestingSizes[random.Next(InterestingSizes.Length)] : Boundaries64[random.Next(Boundaries64.Length)];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(tensor.DimensionOffsets[d]), size);
                return $"'{tensor.Name}' dimension {d} = {size}";
            case 1:
                uint dimensions = (uint)random.Next(6);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(tensor.DimensionCountOffset), dimensions);
                return $"'{tensor.Name}' dimension count = {dimensions}";
            default:
                ulong original = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(tensor.DataOffsetOffset));
                ulong offset = random.Next(2) == 0 ? original + (ulong)random.Next(1, 64) : Boundaries64[random.Next(Boundaries64.Length)];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(tensor.DataOffsetOffset), offset);
                return $"'{tensor.Name}' data offset {original} -> {offset}";
        }
    }
}
