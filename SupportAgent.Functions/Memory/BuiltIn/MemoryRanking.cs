namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>One memory as ranked for a query: cosine similarity, and the score it was ordered by.</summary>
public readonly record struct RankedMemory(IndexedMemory Memory, float Similarity, double Score);

/// <summary>
/// How the built-in store orders a user's memories for a query and which ones it keeps out of the prompt. The values
/// come from the evaluation (scripts/eval-memory.sh, docs/memory.md), which prints the effect of each.
/// </summary>
public sealed record MemoryRanking(float MinSimilarity, double RecencyWeight, TimeSpan RecencyHalfLife)
{
    /// <summary>
    /// Cosine similarity below 0.10 is what unrelated sentences score with this model: those stay out of the prompt
    /// even when fewer than top-k remain. No recency bonus: on the evaluation set it changed nothing at 0.02 and cost
    /// recall at 0.05 (the variants are in the evaluation's table).
    /// </summary>
    public static MemoryRanking Default { get; } = new(0.10f, 0, TimeSpan.FromDays(30));

    public IReadOnlyList<RankedMemory> Rank(IReadOnlyList<IndexedMemory> memories, ReadOnlySpan<float> query, int topK, DateTimeOffset now)
    {
        if (topK <= 0 || memories.Count == 0)
        {
            return [];
        }
        Span<float> scratch = stackalloc float[query.Length];
        var best = new List<RankedMemory>(Math.Min(topK, memories.Count) + 1);
        foreach (var memory in memories)
        {
            float similarity = memory.Similarity(query, scratch);
            if (similarity < MinSimilarity)
            {
                continue;
            }
            double score = Score(similarity, MemoryIds.CreatedAt(memory.Id), now);
            // Keep the top k in a small sorted list: k is a handful, the user's memories up to a thousand.
            if (best.Count == topK && score <= best[^1].Score)
            {
                continue;
            }
            int at = best.FindIndex(b => score > b.Score);
            best.Insert(at < 0 ? best.Count : at, new RankedMemory(memory, similarity, score));
            if (best.Count > topK)
            {
                best.RemoveAt(best.Count - 1);
            }
        }
        return best;
    }

    /// <summary>The order of memories that pass the minimum: similarity, plus the recency bonus if one is set.</summary>
    public double Score(float similarity, DateTimeOffset createdAt, DateTimeOffset now)
    {
        if (RecencyWeight == 0)
        {
            return similarity;
        }
        double ageDays = Math.Max(0, (now - createdAt).TotalDays);
        return similarity + RecencyWeight * Math.Pow(0.5, ageDays / RecencyHalfLife.TotalDays);
    }
}
