using System.Buffers.Binary;
using System.Numerics.Tensors;
using Azure;
using Azure.Data.Tables;

namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>
/// One memory in a user's search index: its id (the row key of its text), its quantised vector, and a hash of the
/// numbers in its text (so a near-duplicate can be told from the same sentence about another order without reading it).
/// </summary>
public sealed record IndexedMemory(string Id, sbyte[] Vector, float Factor, uint Numbers)
{
    /// <summary>Cosine similarity with a unit-length query vector: dot(query, vector) times 1/|vector|.</summary>
    public float Similarity(ReadOnlySpan<float> query, Span<float> scratch)
    {
        TensorPrimitives.ConvertTruncating<sbyte, float>(Vector, scratch);
        return TensorPrimitives.Dot(query, scratch) * Factor;
    }

    /// <summary>
    /// int8 with a scale per vector: 384 bytes, a quarter of float32 and half of float16, and the same ranking on the
    /// evaluation set (docs/memory.md). The stored factor is 1/|quantised vector|, so a dot product gives the cosine.
    /// </summary>
    public static IndexedMemory Quantize(string id, ReadOnlySpan<float> vector, string text)
    {
        float max = Math.Abs(TensorPrimitives.MaxMagnitude(vector)); // the element of largest magnitude, with its sign
        var q = new sbyte[vector.Length];
        if (max > 0)
        {
            float scale = 127f / max;
            for (int i = 0; i < vector.Length; i++)
            {
                q[i] = (sbyte)Math.Round(vector[i] * scale);
            }
        }
        Span<float> asFloat = stackalloc float[q.Length];
        TensorPrimitives.ConvertTruncating<sbyte, float>(q, asFloat);
        float norm = TensorPrimitives.Norm(asFloat);
        return new IndexedMemory(id, q, norm > 0 ? 1 / norm : 0, NumbersOf(text));
    }

    /// <summary>FNV-1a over the text's runs of digits, in order: "order #1234" and "order #1235" differ.</summary>
    public static uint NumbersOf(string text)
    {
        uint hash = 2166136261;
        bool inNumber = false;
        foreach (char c in text)
        {
            bool digit = char.IsAsciiDigit(c);
            if (digit || inNumber)
            {
                hash = (hash ^ (digit ? c : ',')) * 16777619;
            }
            inNumber = digit;
        }
        return hash;
    }
}

/// <summary>
/// A user's search index, kept in ONE table entity next to the user's memory rows: every memory's id and int8 vector,
/// newest first. A search reads this entity (about 400 KB at the cap of 1,000 memories) instead of a row per memory,
/// so its cost is one read whatever the user said; a write reads and replaces it under its ETag.
/// </summary>
public sealed class MemoryIndex
{
    public const string RowKey = "index";
    private const int FormatVersion = 1;

    // A binary property holds at most 64 KiB: vectors are split over as many properties as needed.
    private const int MaxPropertyBytes = 65_536;

    private readonly List<IndexedMemory> _items;

    private MemoryIndex(List<IndexedMemory> items, ETag? etag)
    {
        _items = items;
        ETag = etag;
    }

    /// <summary>Null when the entity does not exist yet (the first write inserts it).</summary>
    public ETag? ETag { get; private set; }

    /// <summary>Roughly what it holds in memory, for the cache's size limit.</summary>
    public long ApproximateBytes => 256 + _items.Count * (MiniLmEmbeddingGenerator.Dimensions + 160L);

    /// <summary>A copy to change (the items themselves are immutable and shared).</summary>
    public MemoryIndex Clone() => new([.. _items], ETag);

    /// <summary>This index as stored under <paramref name="etag"/> (after a write).</summary>
    public MemoryIndex Stored(ETag etag)
    {
        ETag = etag;
        return this;
    }

    /// <summary>Newest first (ids sort that way).</summary>
    public IReadOnlyList<IndexedMemory> Items => _items;

    public int Count => _items.Count;

    public static MemoryIndex Empty() => new([], null);

    public bool Contains(string id) => _items.Exists(i => i.Id == id);

    public void Add(IndexedMemory memory)
    {
        int at = _items.FindIndex(i => string.CompareOrdinal(i.Id, memory.Id) > 0);
        _items.Insert(at < 0 ? _items.Count : at, memory);
    }

    public bool Remove(string id) => _items.RemoveAll(i => i.Id == id) > 0;

    /// <summary>Removes the oldest memories beyond <paramref name="capacity"/>; returns their ids.</summary>
    public IReadOnlyList<string> TrimTo(int capacity)
    {
        if (_items.Count <= capacity)
        {
            return [];
        }
        var dropped = _items.Skip(capacity).Select(i => i.Id).ToArray();
        _items.RemoveRange(capacity, _items.Count - capacity);
        return dropped;
    }

    public TableEntity ToEntity(string partitionKey)
    {
        int dims = MiniLmEmbeddingGenerator.Dimensions;
        var ids = new byte[_items.Count * MemoryIds.ByteLength];
        var factors = new byte[_items.Count * sizeof(float)];
        var numbers = new byte[_items.Count * sizeof(uint)];
        for (int i = 0; i < _items.Count; i++)
        {
            MemoryIds.Write(_items[i].Id, ids.AsSpan(i * MemoryIds.ByteLength, MemoryIds.ByteLength));
            BinaryPrimitives.WriteSingleLittleEndian(factors.AsSpan(i * sizeof(float)), _items[i].Factor);
            BinaryPrimitives.WriteUInt32LittleEndian(numbers.AsSpan(i * sizeof(uint)), _items[i].Numbers);
        }
        var entity = new TableEntity(partitionKey, RowKey)
        {
            ["Format"] = FormatVersion,
            ["Count"] = _items.Count,
            ["Ids"] = ids,
            ["Factors"] = factors,
            ["Numbers"] = numbers,
        };
        // All vectors end to end, cut into 64 KiB properties, each part written straight from the items.
        int total = _items.Count * dims;
        for (int p = 0; p * MaxPropertyBytes < total; p++)
        {
            var part = new byte[Math.Min(MaxPropertyBytes, total - p * MaxPropertyBytes)];
            for (int at = 0; at < part.Length;)
            {
                int global = p * MaxPropertyBytes + at, item = global / dims, within = global % dims;
                int n = Math.Min(dims - within, part.Length - at);
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(_items[item].Vector.AsSpan(within, n)).CopyTo(part.AsSpan(at));
                at += n;
            }
            entity[$"Vectors{p}"] = part;
        }
        if (ETag is { } etag)
        {
            entity.ETag = etag;
        }
        return entity;
    }

    public static MemoryIndex FromEntity(TableEntity entity)
    {
        int format = entity.GetInt32("Format") ?? 0;
        if (format != FormatVersion)
        {
            throw new InvalidDataException($"The memory index has format {format}; this version reads format {FormatVersion}.");
        }
        int count = entity.GetInt32("Count") ?? 0;
        int dims = MiniLmEmbeddingGenerator.Dimensions;
        byte[] ids = entity.GetBinary("Ids") ?? [];
        byte[] factors = entity.GetBinary("Factors") ?? [];
        byte[] numbers = entity.GetBinary("Numbers") ?? new byte[count * sizeof(uint)];
        if (ids.Length != count * MemoryIds.ByteLength || factors.Length != count * sizeof(float) || numbers.Length != count * sizeof(uint))
        {
            throw new InvalidDataException("The memory index's ids, factors and count disagree.");
        }
        var parts = new List<byte[]>();
        for (int p = 0; parts.Sum(x => (long)x.Length) < (long)count * dims; p++)
        {
            parts.Add(entity.GetBinary($"Vectors{p}") ?? throw new InvalidDataException($"The memory index lacks Vectors{p}."));
        }
        var items = new List<IndexedMemory>(count);
        for (int i = 0; i < count; i++)
        {
            // A vector may run across two parts (they are cut at 64 KiB, not at vector boundaries).
            var vector = new sbyte[dims];
            var target = System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan());
            for (int at = 0; at < dims;)
            {
                long global = (long)i * dims + at;
                var part = parts[(int)(global / MaxPropertyBytes)];
                int within = (int)(global % MaxPropertyBytes);
                int n = Math.Min(dims - at, part.Length - within);
                part.AsSpan(within, n).CopyTo(target[at..]);
                at += n;
            }
            items.Add(new IndexedMemory(MemoryIds.Read(ids.AsSpan(i * MemoryIds.ByteLength, MemoryIds.ByteLength)), vector,
                BinaryPrimitives.ReadSingleLittleEndian(factors.AsSpan(i * sizeof(float))), BinaryPrimitives.ReadUInt32LittleEndian(numbers.AsSpan(i * sizeof(uint)))));
        }
        return new MemoryIndex(items, entity.ETag);
    }
}
