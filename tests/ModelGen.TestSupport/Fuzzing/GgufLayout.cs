using System.Buffers.Binary;
using System.Text;

namespace ModelGen.TestSupport.Fuzzing;

/// <summary>
/// Where the fields of a valid GGUF file sit, found by a walk of its header written here, independent of the reader
/// under test: the fuzzer aims its structure-aware mutations at these offsets.
/// </summary>
public sealed class GgufLayout
{
    /// <summary>A field's byte offset and width (4 or 8 bytes).</summary>
    public readonly record struct Field(int Offset, int Size);

    /// <summary>A scalar metadata value: its key, the offset of its type tag, of its value, and its type.</summary>
    public readonly record struct Scalar(string Key, int TagOffset, int ValueOffset, uint Type);

    /// <summary>An array value: its key, the offsets of its element type and count, and the count.</summary>
    public readonly record struct Array(string Key, int ElementTypeOffset, int CountOffset, ulong Count);

    /// <summary>A tensor: the offsets of its dimension count, its dimensions, its ggml type and its data offset.</summary>
    public readonly record struct Tensor(string Name, int DimensionCountOffset, int[] DimensionOffsets, int TypeOffset, int DataOffsetOffset);

    public const uint TypeUInt32 = 4, TypeInt32 = 5, TypeFloat32 = 6, TypeString = 8, TypeArray = 9, TypeUInt64 = 10, TypeInt64 = 11, TypeFloat64 = 12;

    private static readonly int[] ScalarSizes = [1, 1, 2, 2, 4, 4, 4, 1, -1, -1, 8, 8, 8];

    private readonly byte[] _bytes;
    private int _at;
    private int _arrayDepth;

    /// <summary>
    /// Every 64-bit count, length, dimension and offset, and every 32-bit count and type tag, outside array items.
    /// </summary>
    public List<Field> Counts { get; } = [];

    /// <summary>The lengths of strings inside arrays (the vocabulary's), kept apart so they do not crowd out the rest.</summary>
    public List<Field> ItemLengths { get; } = [];

    public List<Scalar> Scalars { get; } = [];

    public List<Array> Arrays { get; } = [];

    public List<Tensor> Tensors { get; } = [];

    /// <summary>Where the header (and its padding) ends and tensor data begins.</summary>
    public int DataOffset { get; }

    /// <summary>Walks <paramref name="bytes"/>, which must be a valid GGUF file of version 2 or 3.</summary>
    public GgufLayout(byte[] bytes)
    {
        _bytes = bytes;
        _at = 4;
        Counts.Add(new Field(_at, 4));
        _at += 4;
        ulong tensorCount = U64(), kvCount = U64();
        long alignment = 32;
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = String();
            int tagOffset = _at;
            Counts.Add(new Field(_at, 4));
            uint type = U32();
            if (type == TypeArray)
            {
                int elementTypeOffset = _at;
                Counts.Add(new Field(_at, 4));
                uint elementType = U32();
                int countOffset = _at;
                ulong count = U64();
                Arrays.Add(new Array(key, elementTypeOffset, countOffset, count));
                _arrayDepth++;
                for (ulong j = 0; j < count; j++)
                {
                    SkipValue(elementType);
                }

                _arrayDepth--;
            }
            else
            {
                if (key == "general.alignment")
                {
                    alignment = BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(_at));
                }

                Scalars.Add(new Scalar(key, tagOffset, _at, type));
                SkipValue(type);
            }
        }

        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = String();
            int dimensionCountOffset = _at;
            Counts.Add(new Field(_at, 4));
            uint dimensions = U32();
            var dimensionOffsets = new int[dimensions];
            for (int d = 0; d < dimensions; d++)
            {
                dimensionOffsets[d] = _at;
                U64();
            }

            int typeOffset = _at;
            Counts.Add(new Field(_at, 4));
            U32();
            int dataOffsetOffset = _at;
            U64();
            Tensors.Add(new Tensor(name, dimensionCountOffset, dimensionOffsets, typeOffset, dataOffsetOffset));
        }

        DataOffset = (int)Math.Min(bytes.Length, (_at + alignment - 1) / alignment * alignment);
    }

    private uint U32()
    {
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(_at));
        _at += 4;
        return value;
    }

    /// <summary>Reads a 64-bit count and records where it is.</summary>
    private ulong U64()
    {
        (_arrayDepth == 0 ? Counts : ItemLengths).Add(new Field(_at, 8));
        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(_bytes.AsSpan(_at));
        _at += 8;
        return value;
    }

    private string String()
    {
        int length = checked((int)U64());
        string text = Encoding.UTF8.GetString(_bytes, _at, length);
        _at += length;
        return text;
    }

    private void SkipValue(uint type)
    {
        if (type == TypeString)
        {
            _ = String();
        }
        else if (type == TypeArray)
        {
            uint elementType = U32();
            ulong count = U64();
            _arrayDepth++;
            for (ulong j = 0; j < count; j++)
            {
                SkipValue(elementType);
            }

            _arrayDepth--;
        }
        else
        {
            _at += ScalarSizes[type];
        }
    }
}
