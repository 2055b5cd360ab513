using Azure;
using Microsoft.Extensions.Caching.Memory;

namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>
/// This instance's copy of recently used index rows, each kept with the ETag it was read or written under. A search
/// first reads only the index row's ETag (a point read of one small property); when it matches, the index is not
/// read again (about 540 KB of JSON at the cap, and that much garbage). Any write, by any instance, changes the ETag,
/// so a stale copy is never used. Bounded: about 32 MB, the least recently used dropped first.
/// </summary>
public sealed class MemoryIndexCache : IDisposable
{
    private const long SizeLimitBytes = 32L * 1024 * 1024;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = SizeLimitBytes, CompactionPercentage = 0.25 });

    /// <summary>The cached index of this partition if it is still the stored one (same ETag); callers must not change it.</summary>
    public MemoryIndex? Get(string partition, ETag etag) =>
        _cache.TryGetValue(partition, out MemoryIndex? index) && index!.ETag == etag ? index : null;

    public bool Has(string partition) => _cache.TryGetValue(partition, out _);

    public void Put(string partition, MemoryIndex index)
    {
        if (index.ETag is null)
        {
            return;
        }
        _cache.Set(partition, index, new MemoryCacheEntryOptions { Size = index.ApproximateBytes });
    }

    public void Remove(string partition) => _cache.Remove(partition);

    public void Dispose() => _cache.Dispose();
}
