using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace SupportAgent.MemoryEvaluation;

/// <summary>
/// The model's embeddings, each text computed once: the evaluation writes the same statements to the store once per
/// variant, and only the store's own choices (what supersedes what, how it ranks) differ between the runs.
/// </summary>
public sealed class CachedEmbeddings(IEmbeddingGenerator<string, Embedding<float>> inner) : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly ConcurrentDictionary<string, Embedding<float>> _cache = new(StringComparer.Ordinal);

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        string[] texts = values.ToArray();
        string[] missing = texts.Where(t => !_cache.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            var generated = await inner.GenerateAsync(missing, options, cancellationToken);
            for (int i = 0; i < missing.Length; i++)
            {
                _cache[missing[i]] = generated[i];
            }
        }
        return new GeneratedEmbeddings<Embedding<float>>(texts.Select(t => _cache[t]));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

    public void Dispose()
    {
        // The inner generator belongs to the caller.
    }
}
