namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>
/// One memory as ranked for a query: the similarity it was ranked by (its own, or a higher one it took over from an
/// older memory it replaces), and the score it was ordered by (for a memory that came along with an older one it
/// updates, that one's).
/// </summary>
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

    /// <summary>
    /// Whether a replaced memory (<see cref="SubjectLink.Replaces"/>) can still be returned for itself, after the one
    /// that replaces it. Off (the default): it is not, so it never takes a place in the top k.
    /// </summary>
    public bool ShowSuperseded { get; init; }

    /// <summary>
    /// The top k, best first. A memory a newer one replaces is left out (see <see cref="ShowSuperseded"/>), and the
    /// memory that replaces it ranks by the better of its own similarity and the replaced one's, so a query worded like
    /// the old statement finds the new one. A memory that a newer one only follows comes with that newer one right
    /// after it, and when only one place is left the newer one takes it: an older statement never reaches the prompt
    /// without the newest one on its subject.
    /// </summary>
    public IReadOnlyList<RankedMemory> Rank(IReadOnlyList<IndexedMemory> memories, SubjectChains chains, ReadOnlySpan<float> query, int topK, DateTimeOffset now)
    {
        if (topK <= 0 || memories.Count == 0)
        {
            return [];
        }
        Span<float> scratch = stackalloc float[query.Length];
        var similarity = new float[memories.Count];
        for (int i = 0; i < memories.Count; i++)
        {
            similarity[i] = memories[i].Similarity(query, scratch);
        }
        if (chains.CurrentOf.Count == 0)
        {
            return Best(memories, similarity, topK, now); // the usual case: nothing linked, one pass
        }

        var position = new Dictionary<string, int>(memories.Count, StringComparer.Ordinal);
        for (int i = 0; i < memories.Count; i++)
        {
            position[memories[i].Id] = i;
        }
        int Current(int i) => chains.CurrentOf.TryGetValue(memories[i].Id, out var id) && position.TryGetValue(id, out int c) ? c : i;
        var ranked = (float[])similarity.Clone();
        for (int i = 0; i < memories.Count; i++)
        {
            if (chains.Replaced.Contains(memories[i].Id))
            {
                int c = Current(i);
                ranked[c] = Math.Max(ranked[c], similarity[i]);
            }
        }

        var candidates = new List<int>();
        for (int i = 0; i < memories.Count; i++)
        {
            if ((ShowSuperseded || !chains.Replaced.Contains(memories[i].Id)) && ranked[i] >= MinSimilarity)
            {
                candidates.Add(i);
            }
        }
        // Best first; a stable sort keeps the index's order (newest first) between equal scores.
        var scores = candidates.ToDictionary(i => i, i => Score(ranked[i], memories[i].SaidAt, now));
        var ordered = candidates.OrderByDescending(i => scores[i]).ToList();
        var result = new List<RankedMemory>(topK);
        var taken = new HashSet<int>();
        foreach (int i in ordered)
        {
            if (result.Count == topK)
            {
                break;
            }
            if (taken.Contains(i))
            {
                continue;
            }
            int current = Current(i);
            bool needsCurrent = current != i && !taken.Contains(current);
            if (!needsCurrent || result.Count + 2 <= topK)
            {
                result.Add(new RankedMemory(memories[i], ranked[i], scores[i]));
                taken.Add(i);
            }
            if (needsCurrent)
            {
                result.Add(new RankedMemory(memories[current], ranked[current], scores[i])); // ranked with what it updates
                taken.Add(current);
            }
        }
        return result;
    }

    /// <summary>The top k by score, in one pass over the memories (k is a handful, the memories up to a thousand).</summary>
    private IReadOnlyList<RankedMemory> Best(IReadOnlyList<IndexedMemory> memories, float[] similarity, int topK, DateTimeOffset now)
    {
        var best = new List<RankedMemory>(Math.Min(topK, memories.Count) + 1);
        for (int i = 0; i < memories.Count; i++)
        {
            if (similarity[i] < MinSimilarity)
            {
                continue;
            }
            double score = Score(similarity[i], memories[i].SaidAt, now);
            // Memories come newest first, so on a tie the newer one stays ahead.
            if (best.Count == topK && score <= best[^1].Score)
            {
                continue;
            }
            int at = best.FindIndex(b => score > b.Score);
            best.Insert(at < 0 ? best.Count : at, new RankedMemory(memories[i], similarity[i], score));
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
