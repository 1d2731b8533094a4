using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.Kernels.Ops;
using ModelGen.Kernels.Threading;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Compiled;

/// <summary>
/// What every compiled model class has that does not depend on its model: the mapped file, the tokenizer and the
/// generation loop, activation buffers, the thread pool, attention over the KV cache, and the row operations the
/// forward pass calls. The generated class derives from it and adds only what its model decides: constants, the
/// tensor table, one field per weight, and the forward pass unrolled over its blocks.
/// </summary>
/// <remarks>
/// Ordinary code, so a user can step into it from the generated forward pass; every operation is the generic engine's
/// (<see cref="Transformer"/>) or calls the same kernels in the same order, so logits agree bit for bit.
/// </remarks>
public abstract class CompiledModel : IForwardPass, ILanguageModel
{
    private readonly GgufFile _file;
    private readonly ModelConfig _config;
    private readonly int _cacheLength;
    private readonly int[] _decodeToken = new int[1];

    /// <summary>Activations of up to <see cref="MaxBatch"/> tokens, [token][feature].</summary>
    protected readonly float[] X, Xb, Q, K, V, AttentionOutput, Gate, Up, Logits;

    /// <summary>Fused projections' outputs, for architectures that have them (empty otherwise).</summary>
    protected readonly float[] Qkv, GateUp;

    /// <summary>Activations converted for the matrix kernels (a fused product keeps one conversion per activation format).</summary>
    protected readonly byte[] Scratch;

    protected readonly KernelThreadPool Pool;

    /// <summary>Rotary positions, the F16 KV cache of every block, and attention over it.</summary>
    protected readonly Attention SelfAttention;

    private readonly SequenceBatch _batch;

    /// <summary>The mixture-of-experts feed-forward, for architectures that have one.</summary>
    protected readonly MixtureOfExperts? Experts;

    /// <summary>
    /// Sets up a model of <paramref name="config"/> over <paramref name="file"/>, which <see cref="CompiledModelFile.Load"/>
    /// has checked, with a cache of <paramref name="cacheLength"/> positions for each of <paramref name="sequenceCount"/>
    /// sequences, batches of up to <paramref name="maxBatch"/> tokens and <paramref name="scratchBytes"/> of converted activations.
    /// </summary>
    protected CompiledModel(GgufFile file, Tokenizer tokenizer, int threads, ModelConfig config, int cacheLength, int maxBatch, int scratchBytes,
        int sequenceCount = 1)
    {
        _file = file;
        _config = config;
        _cacheLength = cacheLength;
        MaxBatch = maxBatch;
        Tokenizer = tokenizer;
        Pool = new KernelThreadPool(threads);
        SelfAttention = new Attention(config, cacheLength, Pool, sequenceCount, ModelWeights.ReadRopeFactors(file));
        _batch = new SequenceBatch(maxBatch, cacheLength, sequenceCount);
        SequenceCount = sequenceCount;
        Experts = config.Rules.HasExperts ? new MixtureOfExperts(config, maxBatch, Pool) : null;
        X = new float[maxBatch * config.EmbeddingLength];
        Xb = new float[maxBatch * config.EmbeddingLength];
        Q = new float[maxBatch * config.QueryLength];
        K = new float[maxBatch * config.KvLength];
        V = new float[maxBatch * config.KvLength];
        AttentionOutput = new float[maxBatch * config.QueryLength];
        Gate = new float[maxBatch * config.FeedForwardLength];
        Up = new float[maxBatch * config.FeedForwardLength];
        Qkv = new float[config.Rules.Uses(ActivationBuffer.Qkv) ? maxBatch * ArchitectureRules.Width(ActivationBuffer.Qkv, config) : 0];
        GateUp = new float[config.Rules.Uses(ActivationBuffer.GateUp) ? maxBatch * ArchitectureRules.Width(ActivationBuffer.GateUp, config) : 0];
        Logits = new float[maxBatch * config.VocabularySize];
        Scratch = new byte[scratchBytes];
        Generator = new TextGenerator(this, tokenizer);
    }

    string ILanguageModel.Name => _config.Name;

    public Tokenizer Tokenizer { get; }

    /// <summary>The generation loop over this model, as <c>GenericModel.Generator</c>.</summary>
    public TextGenerator Generator { get; }

    /// <summary>The file the model runs from.</summary>
    public string Path => _file.Path;

    /// <summary>The model's Jinja chat template (<c>tokenizer.chat_template</c>), if it has one.</summary>
    public string? ChatTemplate => _file.Metadata.TryGetString("tokenizer.chat_template");

    /// <summary>Most tokens one forward pass takes.</summary>
    public int MaxBatch { get; }

    /// <summary>Positions the KV cache holds, per sequence.</summary>
    int IForwardPass.ContextLength => _cacheLength;

    /// <summary>Sequences (KV-cache slots) the cache holds.</summary>
    public int SequenceCount { get; }

    int IForwardPass.VocabularySize => _config.VocabularySize;

    /// <summary>
    /// Runs <paramref name="tokens"/> (1 to <see cref="MaxBatch"/>; more than one is a prefill) at consecutive positions
    /// of sequence 0 from <paramref name="position"/> and returns the logits of the last, or of every token when <paramref name="allLogits"/>.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int position, bool allLogits = false)
    {
        _batch.SetConsecutive(tokens.Length, position, allLogits);
        return Forward(tokens, _batch);
    }

    /// <inheritdoc/>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences, ReadOnlySpan<bool> outputs)
    {
        _batch.Set(tokens.Length, positions, sequences, outputs);
        return Forward(tokens, _batch);
    }

    /// <summary>
    /// The forward pass of the model's blocks over <paramref name="tokens"/>, placed by <paramref name="batch"/> (which
    /// has checked them against the batch size, context and sequences): the logits of the rows it asks for.
    /// </summary>
    protected abstract ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, SequenceBatch batch);

    /// <summary>Decodes one token at <paramref name="position"/>: its logits, valid until the next call.</summary>
    public ReadOnlySpan<float> Decode(int token, int position)
    {
        _decodeToken[0] = token;
        return Forward(_decodeToken, position);
    }

    /// <summary>Streams the continuation of <paramref name="prompt"/>.</summary>
    public IAsyncEnumerable<string> GenerateAsync(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Generator.GenerateAsync(prompt, options, cancellationToken);

    public void Dispose()
    {
        Pool.Dispose();
        _file.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Writes the embeddings of <paramref name="tokens"/> (rows of <paramref name="embedding"/>, stored as
    /// <typeparamref name="TFormat"/>) to <see cref="X"/>.
    /// </summary>
    protected void Embed<TFormat>(in WeightMatrix embedding, ReadOnlySpan<int> tokens)
        where TFormat : IBlockFormat
    {
        int n = tokens.Length, width = _config.EmbeddingLength;
        for (int t = 0; t < n; t++)
        {
            int token = tokens[t];
            if ((uint)token >= (uint)_config.VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), token, $"token id outside the vocabulary of {_config.VocabularySize}");
            }

            TFormat.Dequantize(embedding.Row(token), X.AsSpan(t * width, width));
            if (_config.EmbeddingScale != 1f)
            {
                Activations.Scale(X.AsSpan(t * width, width), _config.EmbeddingScale);
            }
        }
    }

    /// <summary><c>y = W x</c> for each of <paramref name="n"/> activation rows; one row is a matrix-vector product.</summary>
    protected void Project<TWeight, TActivation>(in WeightMatrix weights, ReadOnlySpan<float> x, Span<float> y, int n)
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat
    {
        if (n == 1)
        {
            MatrixKernels.MatVec<TWeight, TActivation>(weights, x, y, Scratch, Pool);
        }
        else
        {
            MatrixKernels.MatMul<TWeight, TActivation>(weights, x, y, Scratch, Pool);
        }
    }

    /// <summary><c>y = RmsNorm(x)</c>, row by row.</summary>
    protected void NormRows(ReadOnlySpan<float> x, Span<float> y, float[] weight)
    {
        int width = _config.EmbeddingLength;
        for (int offset = 0; offset < x.Length; offset += width)
        {
            RmsNorm.Apply(x.Slice(offset, width), weight, y.Slice(offset, width), _config.RmsEpsilon);
        }
    }

    /// <summary>
    /// Moves the rows of <see cref="X"/> and <see cref="Xb"/> whose logits <paramref name="batch"/> wants to their
    /// fronts, in order, and returns how many there are: the output norm and projection then run on those alone.
    /// </summary>
    protected int GatherOutputs(SequenceBatch batch)
    {
        batch.GatherOutputs(Xb, _config.EmbeddingLength);
        return batch.GatherOutputs(X, _config.EmbeddingLength);
    }

    /// <summary><c>x += residual</c> and <c>y = RmsNorm(x)</c>, row by row in one pass; <paramref name="y"/> may be <paramref name="residual"/>.</summary>
    protected void AddNormRows(Span<float> x, ReadOnlySpan<float> residual, Span<float> y, float[] weight)
    {
        int width = _config.EmbeddingLength;
        for (int offset = 0; offset < x.Length; offset += width)
        {
            RmsNorm.AddApply(x.Slice(offset, width), residual.Slice(offset, width), weight, y.Slice(offset, width), _config.RmsEpsilon);
        }
    }

    /// <summary>Adds <paramref name="bias"/> to each row of <paramref name="y"/>.</summary>
    protected static void AddBias(Span<float> y, float[] bias)
    {
        for (int offset = 0; offset < y.Length; offset += bias.Length)
        {
            Activations.Add(y.Slice(offset, bias.Length), bias);
        }
    }

    /// <summary>A matrix of the mapped file, at <paramref name="offset"/> in its data section.</summary>
    protected unsafe WeightMatrix Matrix(GgmlType type, long offset, int rows, int columns) =>
        new(type, _file.BasePointer + _file.Header.DataOffset + offset, type.Info().RowBytes(columns) * rows, rows, columns);

    /// <summary>
    /// The <paramref name="experts"/> matrices of a 3-D tensor of the mapped file at <paramref name="offset"/>, one per
    /// expert, back to back.
    /// </summary>
    protected WeightMatrix[] ExpertMatrices(GgmlType type, long offset, int experts, int rows, int columns)
    {
        long bytes = type.Info().RowBytes(columns) * rows;
        return Enumerable.Range(0, experts).Select(e => Matrix(type, offset + e * bytes, rows, columns)).ToArray();
    }

    /// <summary>A norm or bias vector of the mapped file, converted to floats once, at load.</summary>
    protected unsafe float[] Vector<TFormat>(long offset, int length)
        where TFormat : IBlockFormat
    {
        var values = new float[length];
        TFormat.Dequantize(new ReadOnlySpan<byte>(_file.BasePointer + _file.Header.DataOffset + offset, length * TFormat.BlockBytes), values);
        return values;
    }
}
