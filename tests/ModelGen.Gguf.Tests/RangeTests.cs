using ModelGen.TestSupport;

namespace ModelGen.Gguf.Tests;

/// <summary>A GGUF file stored inside a larger one (weights appended to an executable) opens as the file itself.</summary>
public sealed class RangeTests : IDisposable
{
    private static readonly string Model = Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf");

    private readonly string _container = Path.GetTempFileName();
    private readonly long _offset = 4096 + 7;
    private readonly long _length = new FileInfo(Model).Length;

    public RangeTests()
    {
        // Non-zero bytes on both sides, and an odd offset: nothing may depend on the range being page-aligned.
        using var output = new FileStream(_container, FileMode.Create, FileAccess.Write);
        output.Write(Enumerable.Repeat((byte)0xA5, (int)_offset).ToArray());
        output.Write(File.ReadAllBytes(Model));
        output.Write(Enumerable.Repeat((byte)0x5A, 100).ToArray());
    }

    [Fact]
    public unsafe void A_range_opens_with_the_same_header_and_tensor_data_as_the_file()
    {
        using var whole = GgufFile.Open(Model);
        using var range = GgufFile.Open(_container, _offset, _length);
        Assert.Equal(whole.Header.DataOffset, range.Header.DataOffset);
        Assert.Equal(whole.Metadata.TryGetString("general.name"), range.Metadata.TryGetString("general.name"));
        Assert.Equal(whole.Tensors.Select(t => (t.Name, t.Type, t.Offset)), range.Tensors.Select(t => (t.Name, t.Type, t.Offset)));
        foreach (var tensor in whole.Tensors)
        {
            Assert.True(whole.GetData(tensor).SequenceEqual(range.GetData(range.FindTensor(tensor.Name)!)), tensor.Name);
        }

        Assert.Equal(0x47, *range.BasePointer); // 'G' of the magic, not the bytes before the range
    }

    [Theory]
    [InlineData(-1, 10)]
    [InlineData(0, 0)]
    [InlineData(4096 + 7, int.MaxValue)]
    public void A_range_outside_the_file_is_refused(long offset, long length)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => GgufFile.Open(_container, offset, length));
    }

    [Fact]
    public void Offsets_are_checked_against_the_range_not_the_file()
    {
        // The bytes after the range would hold the last tensor's tail; the range alone does not.
        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Open(_container, _offset, _length - 1));
        Assert.Contains("tensor", error.Message);
    }

    public void Dispose() => File.Delete(_container);
}
