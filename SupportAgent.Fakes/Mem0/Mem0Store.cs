using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SupportAgent.Fakes;

/// <summary>One stored memory, as a test sees it.</summary>
public sealed record Mem0Memory(
    string Id,
    string UserId,
    string Text,
    JsonElement? Metadata,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string Hash)
{
    /// <summary>A metadata value as a string (null when absent or not a string).</summary>
    public string? MetadataValue(string key) =>
        Metadata is { ValueKind: JsonValueKind.Object } m && m.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal string CreatedAtText => Format(CreatedAt);

    internal string UpdatedAtText => Format(UpdatedAt);

    private static string Format(DateTimeOffset at) => at.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);
}

/// <summary>A search hit: the memory and a score in [0, 1].</summary>
internal readonly record struct ScoredMemory(Mem0Memory Memory, double Score);

/// <summary>
/// The fake's memory store: memories per user (the scope Mem0 isolates by), plus an id index for get/delete.
/// "*" as a user id means every user, as on the real Platform, so a client that leaks it is visibly wrong.
/// </summary>
internal sealed class Mem0Store
{
    public const string Wildcard = "*";

    private readonly ConcurrentDictionary<string, Bucket> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry> _byId = new(StringComparer.OrdinalIgnoreCase);
    private long _sequence;

    public int Count => _byId.Count;

    public int UserCount => _users.Count(u => u.Value.Count > 0);

    /// <summary>Stores one memory per text (trimmed, blank skipped); with <paramref name="dedupe"/>, an exact repeat of one
    /// of the user's memories is dropped, as Mem0's v3 pipeline drops exact (hash) duplicates. <paramref name="saidAt"/>
    /// (the Platform add's <c>timestamp</c>) dates them; without it they are dated now.</summary>
    public List<Mem0Memory> Add(string userId, IEnumerable<string> texts, JsonElement? metadata, bool dedupe, DateTimeOffset? saidAt = null)
    {
        var bucket = _users.GetOrAdd(userId, _ => new Bucket());
        var added = new List<Mem0Memory>();
        lock (bucket.Lock)
        {
            foreach (var raw in texts)
            {
                string text = raw.Trim();
                if (text.Length == 0)
                {
                    continue;
                }
                string hash = Md5(text);
                if (dedupe && bucket.Items.Any(e => e.Memory.Hash == hash))
                {
                    continue;
                }
                var at = saidAt ?? DateTimeOffset.UtcNow;
                var memory = new Mem0Memory(Guid.NewGuid().ToString(), userId, text, metadata, at, at, hash);
                var entry = new Entry(memory, Interlocked.Increment(ref _sequence), Words(text));
                bucket.Items.Add(entry);
                _byId[memory.Id] = entry;
                added.Add(memory);
            }
        }
        return added;
    }

    /// <summary>
    /// Ranks the user's memories by how many of the query's words they contain, then newest first. Memories sharing no
    /// word still come back after the others: a vague query ("Any updates?") must still find the user's facts, as
    /// Mem0's semantic search would.
    /// </summary>
    public List<ScoredMemory> Search(string userId, string query, int topK)
    {
        var queryWords = Words(query);
        return Entries(userId)
            .Select(e => (Entry: e, Overlap: queryWords.Count(e.Words.Contains)))
            .OrderByDescending(x => x.Overlap)
            .ThenByDescending(x => x.Entry.Sequence)
            .Take(Math.Max(0, topK))
            .Select(x => new ScoredMemory(x.Entry.Memory, Score(x.Overlap, queryWords.Count)))
            .ToList();
    }

    /// <summary>The user's memories (every user's for "*"), newest first.</summary>
    public List<Mem0Memory> List(string userId) =>
        Entries(userId).OrderByDescending(e => e.Sequence).Select(e => e.Memory).ToList();

    public Mem0Memory? Get(string id) => _byId.TryGetValue(id, out var entry) ? entry.Memory : null;

    public bool Delete(string id)
    {
        if (!_byId.TryRemove(id, out var entry))
        {
            return false;
        }
        if (_users.TryGetValue(entry.Memory.UserId, out var bucket))
        {
            lock (bucket.Lock)
            {
                bucket.Items.RemoveAll(e => e.Memory.Id == entry.Memory.Id);
            }
        }
        return true;
    }

    /// <summary>Deletes the user's memories (every user's for "*"); returns how many.</summary>
    public int DeleteAll(string userId)
    {
        int removed = 0;
        foreach (var (key, bucket) in _users)
        {
            if (userId != Wildcard && key != userId)
            {
                continue;
            }
            lock (bucket.Lock)
            {
                foreach (var entry in bucket.Items)
                {
                    _byId.TryRemove(entry.Memory.Id, out _);
                }
                removed += bucket.Items.Count;
                bucket.Items.Clear();
            }
        }
        return removed;
    }

    public void Clear()
    {
        _users.Clear();
        _byId.Clear();
    }

    private IEnumerable<Entry> Entries(string userId)
    {
        if (userId == Wildcard)
        {
            return _users.Values.SelectMany(b => b.Snapshot());
        }
        return _users.TryGetValue(userId, out var bucket) ? bucket.Snapshot() : [];
    }

    private static double Score(int overlap, int queryWords) =>
        // 0.05 for no shared word, up to 0.95 for all of the query's words: always within [0, 1].
        Math.Round(0.05 + (queryWords == 0 ? 0 : 0.9 * overlap / queryWords), 4);

    /// <summary>Lower-cased words, punctuation ignored ("#1234" and "1234" match).</summary>
    internal static HashSet<string> Words(string text)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        var current = new StringBuilder();
        foreach (char c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                current.Append(char.ToLowerInvariant(c));
            }
            else if (current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
        }
        if (current.Length > 0)
        {
            words.Add(current.ToString());
        }
        return words;
    }

    private static string Md5(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));

    private sealed record Entry(Mem0Memory Memory, long Sequence, HashSet<string> Words);

    private sealed class Bucket
    {
        public readonly Lock Lock = new();
        public readonly List<Entry> Items = [];

        public int Count
        {
            get
            {
                lock (Lock)
                {
                    return Items.Count;
                }
            }
        }

        public Entry[] Snapshot()
        {
            lock (Lock)
            {
                return [.. Items];
            }
        }
    }
}
