using System.Buffers.Binary;
using System.Numerics.Tensors;
using Azure;
using Azure.Data.Tables;

namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>
/// One memory in a user's search index: its id (the row key of its text), its quantised vector, a hash of the numbers
/// in its text (so a near-duplicate can be told from the same sentence about another order without reading it), hashes
/// of the identifiers in it ("#1234", "INV-2231", "07700"), and its link to a newer memory on the same subject, if any.
/// </summary>
public sealed record IndexedMemory(string Id, sbyte[] Vector, float Factor, uint Numbers)
{
    /// <summary>At most this many identifiers are kept per memory (the first ones in the text).</summary>
    public const int MaxIdentifiers = 4;

    /// <summary>Hashes of the identifiers in the text (<see cref="IdentifiersOf"/>), none being 0.</summary>
    public uint[] Identifiers { get; init; } = [];

    /// <summary>A newer memory of the same user on the same subject (<see cref="Supersession"/>); null when there is none.</summary>
    public string? NewerId { get; init; }

    /// <summary>How that newer memory relates to this one: it replaces it, or it only follows it (both stay searchable).</summary>
    public SubjectLink Link { get; init; }

    /// <summary>When it was said (from the id).</summary>
    public DateTimeOffset SaidAt => MemoryIds.CreatedAt(Id);

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
        return new IndexedMemory(id, q, norm > 0 ? 1 / norm : 0, NumbersOf(text)) { Identifiers = IdentifiersOf(text) };
    }

    /// <summary>
    /// Identifiers: words of at least 3 letters and digits with at least one digit ("#1234" gives 1234, "INV-2231" gives
    /// 2231, "S21", "07700"), lower-cased, hashed (FNV-1a, never 0); at most <see cref="MaxIdentifiers"/>, distinct.
    /// </summary>
    public static uint[] IdentifiersOf(string text)
    {
        var found = new List<uint>(MaxIdentifiers);
        int start = -1;
        for (int i = 0; i <= text.Length && found.Count < MaxIdentifiers; i++)
        {
            bool inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                var word = text.AsSpan(start, i - start);
                if (word.Length >= 3 && word.ContainsAnyInRange('0', '9'))
                {
                    uint hash = 2166136261;
                    foreach (char c in word)
                    {
                        hash = (hash ^ char.ToLowerInvariant(c)) * 16777619;
                    }
                    hash = hash == 0 ? 1 : hash;
                    if (!found.Contains(hash))
                    {
                        found.Add(hash);
                    }
                }
                start = -1;
            }
        }
        return [.. found];
    }

    /// <summary>Cosine similarity with another memory of the index, from the two quantised vectors.</summary>
    public float Similarity(IndexedMemory other)
    {
        int dot = 0;
        for (int i = 0; i < Vector.Length; i++)
        {
            dot += Vector[i] * other.Vector[i];
        }
        return dot * Factor * other.Factor;
    }

    /// <summary>Whether both name at least one identifier and they share one.</summary>
    public bool SharesIdentifierWith(IndexedMemory other) => Identifiers.Any(other.Identifiers.Contains);

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
/// newest first. A search reads this entity (about 440 KB at the cap of 1,000 memories) instead of a row per memory,
/// so its cost is one read whatever the user said; a write reads and replaces it under its ETag.
/// </summary>
public sealed class MemoryIndex
{
    public const string RowKey = "index";

    // Format 1 still: the identifiers and links are optional properties (read as "none" when absent), so a row written
    // before them reads as it did, and an older instance reading a newer row ignores them.
    private const int FormatVersion = 1;
    private const int IdentifierBytes = IndexedMemory.MaxIdentifiers * sizeof(uint);

    // A binary property holds at most 64 KiB: vectors are split over as many properties as needed.
    private const int MaxPropertyBytes = 65_536;

    private readonly List<IndexedMemory> _items;
    private SubjectChains? _chains; // computed on first use, dropped by any change

    private MemoryIndex(List<IndexedMemory> items, ETag? etag)
    {
        _items = items;
        ETag = etag;
    }

    /// <summary>Null when the entity does not exist yet (the first write inserts it).</summary>
    public ETag? ETag { get; private set; }

    /// <summary>Roughly what it holds in memory, for the cache's size limit.</summary>
    public long ApproximateBytes => 256 + _items.Count * (MiniLmEmbeddingGenerator.Dimensions + 200L);

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

    /// <summary>Adds a memory in its place (newest first), linking nothing: for a store that does not supersede, and for tests.</summary>
    public void Add(IndexedMemory memory)
    {
        _chains = null;
        int at = _items.FindIndex(i => string.CompareOrdinal(i.Id, memory.Id) > 0);
        _items.Insert(at < 0 ? _items.Count : at, memory);
    }

    /// <summary>
    /// Adds a memory and links it with the user's memories on the same subject (<paramref name="rule"/>): each older one
    /// links to it, unless it has a link already that is stronger, or as strong and to a closer memory; and if newer
    /// ones exist already (a write the queue delivered late), it links to the one it relates to most strongly, then
    /// the closest. Statements said at the same time (one exchange) are never linked.
    /// </summary>
    public void Add(IndexedMemory memory, ReadOnlySpan<float> vector, Supersession rule)
    {
        var said = memory.SaidAt;
        (IndexedMemory Item, SubjectLink Link, float Similarity)? newer = null;
        Dictionary<string, IndexedMemory>? byId = null;
        Span<float> scratch = stackalloc float[vector.Length];
        for (int i = 0; i < _items.Count; i++)
        {
            var item = _items[i];
            var itemSaid = item.SaidAt;
            float similarity = item.Similarity(vector, scratch);
            var link = itemSaid == said ? SubjectLink.None : rule.Link(item, memory, similarity);
            if (link == SubjectLink.None)
            {
                continue;
            }
            if (itemSaid < said)
            {
                // One link per memory: a weaker one, or one to a memory further away in meaning, gives way.
                byId ??= _items.ToDictionary(m => m.Id, StringComparer.Ordinal);
                bool keep = item.NewerId is { } current && byId.TryGetValue(current, out var target)
                    && (item.Link > link || (item.Link == link && item.Similarity(target) >= similarity));
                if (!keep)
                {
                    _items[i] = item with { NewerId = memory.Id, Link = link };
                }
            }
            else if (newer is not { } n || link > n.Link || (link == n.Link && similarity > n.Similarity))
            {
                newer = (item, link, similarity);
            }
        }
        Add(newer is { } found ? memory with { NewerId = found.Item.Id, Link = found.Link } : memory);
    }

    /// <summary>A memory replaced by another (a near-duplicate): what linked to the old one links to the new one.</summary>
    public void Redirect(string oldId, string newId)
    {
        _chains = null;
        for (int i = 0; i < _items.Count; i++)
        {
            if (_items[i].NewerId == oldId)
            {
                _items[i] = _items[i] with { NewerId = newId };
            }
        }
    }

    public bool Remove(string id)
    {
        _chains = null;
        return _items.RemoveAll(i => i.Id == id) > 0;
    }

    /// <summary>Which memories are current on their subject, and which a newer one replaces (<see cref="SubjectChains"/>).</summary>
    public SubjectChains Chains() => _chains ??= SubjectChains.Of(_items);

    /// <summary>Removes the oldest memories beyond <paramref name="capacity"/>; returns their ids.</summary>
    public IReadOnlyList<string> TrimTo(int capacity)
    {
        if (_items.Count <= capacity)
        {
            return [];
        }
        _chains = null;
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
        var identifiers = new byte[_items.Count * IdentifierBytes];
        var newerIds = new byte[_items.Count * MemoryIds.ByteLength]; // all zero: no newer memory
        var links = new byte[_items.Count];
        for (int i = 0; i < _items.Count; i++)
        {
            var item = _items[i];
            MemoryIds.Write(item.Id, ids.AsSpan(i * MemoryIds.ByteLength, MemoryIds.ByteLength));
            BinaryPrimitives.WriteSingleLittleEndian(factors.AsSpan(i * sizeof(float)), item.Factor);
            BinaryPrimitives.WriteUInt32LittleEndian(numbers.AsSpan(i * sizeof(uint)), item.Numbers);
            for (int k = 0; k < item.Identifiers.Length; k++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(identifiers.AsSpan(i * IdentifierBytes + k * sizeof(uint)), item.Identifiers[k]);
            }
            if (item.NewerId is { } newer)
            {
                MemoryIds.Write(newer, newerIds.AsSpan(i * MemoryIds.ByteLength, MemoryIds.ByteLength));
                links[i] = (byte)item.Link;
            }
        }
        var entity = new TableEntity(partitionKey, RowKey)
        {
            ["Format"] = FormatVersion,
            ["Count"] = _items.Count,
            ["Ids"] = ids,
            ["Factors"] = factors,
            ["Numbers"] = numbers,
            ["Identifiers"] = identifiers,
            ["NewerIds"] = newerIds,
            ["Links"] = links,
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
        // Absent in rows written before memories were linked: no identifiers, nothing superseded.
        byte[] identifiers = entity.GetBinary("Identifiers") ?? new byte[count * IdentifierBytes];
        byte[] newerIds = entity.GetBinary("NewerIds") ?? new byte[count * MemoryIds.ByteLength];
        byte[] links = entity.GetBinary("Links") ?? new byte[count];
        if (ids.Length != count * MemoryIds.ByteLength || factors.Length != count * sizeof(float) || numbers.Length != count * sizeof(uint)
            || identifiers.Length != count * IdentifierBytes || newerIds.Length != count * MemoryIds.ByteLength || links.Length != count)
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
            var newer = newerIds.AsSpan(i * MemoryIds.ByteLength, MemoryIds.ByteLength);
            bool linked = newer.ContainsAnyExcept((byte)0) && links[i] is (byte)SubjectLink.Follows or (byte)SubjectLink.Replaces;
            items.Add(new IndexedMemory(MemoryIds.Read(ids.AsSpan(i * MemoryIds.ByteLength, MemoryIds.ByteLength)), vector,
                BinaryPrimitives.ReadSingleLittleEndian(factors.AsSpan(i * sizeof(float))), BinaryPrimitives.ReadUInt32LittleEndian(numbers.AsSpan(i * sizeof(uint))))
            {
                Identifiers = ReadIdentifiers(identifiers.AsSpan(i * IdentifierBytes, IdentifierBytes)),
                NewerId = linked ? MemoryIds.Read(newer) : null,
                Link = linked ? (SubjectLink)links[i] : SubjectLink.None,
            });
        }
        return new MemoryIndex(items, entity.ETag);
    }

    private static uint[] ReadIdentifiers(ReadOnlySpan<byte> bytes)
    {
        var found = new List<uint>(IndexedMemory.MaxIdentifiers);
        for (int k = 0; k < IndexedMemory.MaxIdentifiers; k++)
        {
            uint hash = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(k * sizeof(uint))..]);
            if (hash != 0)
            {
                found.Add(hash);
            }
        }
        return [.. found];
    }
}
