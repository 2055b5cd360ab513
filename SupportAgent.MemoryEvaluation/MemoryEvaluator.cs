using System.Collections.Concurrent;
using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.BuiltIn;

namespace SupportAgent.MemoryEvaluation;

/// <summary>How one way of remembering did on the set.</summary>
public sealed record EvaluationScore(string Name, int Cases, int Top1, int Top5, double MeanInPrompt, double MeanInPromptUnrelated)
{
    /// <summary>Cases whose key fact was not first ("id@rank", rank 0 = first, "-" = not returned).</summary>
    public IReadOnlyList<string> NotFirst { get; init; } = [];

    public double Recall1 => (double)Top1 / Cases;

    public double Recall5 => (double)Top5 / Cases;
}

public sealed record IsolationScore(int Checks, int Passed)
{
    public double Rate => Checks == 0 ? 0 : (double)Passed / Checks;
}

/// <summary>
/// How one way of remembering did on the update cases, in the prompt (the store's top k listed newest first, as the
/// recall does): the newest statement on the subject reached it; it came before every older statement on the subject
/// that reached it too; and how often an older statement reached it without the newest. Also the store's own order
/// (by relevance): the newest ranked before every older one it returned.
/// </summary>
public sealed record UpdateScore(string Name, int Cases, int NewestInPrompt, int NewestBeforeOlder, int NewestFirstByRelevance, int StaleWithoutNewest, int OlderShown)
{
    /// <summary>Cases where the newest statement did not reach the prompt, or an older one did without it.</summary>
    public IReadOnlyList<string> Missed { get; init; } = [];

    public double NewestInPromptRate => (double)NewestInPrompt / Cases;

    public double NewestBeforeOlderRate => (double)NewestBeforeOlder / Cases;

    public double NewestFirstByRelevanceRate => (double)NewestFirstByRelevance / Cases;

    public double StaleWithoutNewestRate => (double)StaleWithoutNewest / Cases;

    /// <summary>Older statements on the subject in the prompt, per case.</summary>
    public double MeanOlderShown => (double)OlderShown / Cases;
}

/// <summary>One store's run over the whole set.</summary>
public sealed record StoreEvaluation(EvaluationScore Recall, UpdateScore Updates, IsolationScore Isolation);

/// <summary>
/// Runs the evaluation set: each case's history written as one exchange per statement (a day apart, the last one a day
/// ago), then the case's follow-up searched with top k = 5, as the chat path does. recall@1: the key fact came first;
/// recall@5: it was among what reached the prompt; memories in prompt: how many came back (for the case's own query,
/// and for an unrelated query, another case's). Isolation: no user's search ever returns another user's statement.
/// </summary>
public static class MemoryEvaluator
{
    public const int TopK = 5;
    private const int Concurrency = 4;

    public static async Task<StoreEvaluation> RunStoreAsync(IMemoryStore store, EvaluationSet set, string name, CancellationToken ct)
    {
        string run = Guid.NewGuid().ToString("N")[..8];
        string User(EvaluationCase c) => $"eval-{run}-{c.Id}";
        string UpdateUser(UpdateCase u) => $"eval-{run}-u-{u.Id}";
        var now = DateTimeOffset.UtcNow;

        // Each statement is one exchange, a day apart, the last one a day ago; users in parallel, each user's in order.
        Task SayAsync(string user, string key, IReadOnlyList<string> history) => Task.Run(async () =>
        {
            for (int k = 0; k < history.Count; k++)
            {
                await store.AddAsync(new MemoryExchange($"{run}-{key}-{k}", user, now.AddDays(-(history.Count - k)),
                    [new ChatTurn(ChatTurn.User, history[k]), new ChatTurn(ChatTurn.Assistant, "Thanks, noted.")]), ct);
            }
        }, ct);
        await ForEachAsync(set.Cases, c => SayAsync(User(c), c.Id, [.. c.History.Select(h => h.Text)]));
        await ForEachAsync(set.Updates, u => SayAsync(UpdateUser(u), "u-" + u.Id, u.History));

        int top1 = 0, top5 = 0, shown = 0, shownUnrelated = 0, checks = 0, isolated = 0;
        var results = new ConcurrentBag<(bool Top1, bool Top5, int Shown, int ShownUnrelated, bool Isolated, string? NotFirst)>();
        await ForEachAsync(set.Cases.Select((c, i) => (c, i)), async x =>
        {
            var (c, i) = x;
            var found = await store.SearchAsync(User(c), c.Query, TopK, ct);
            var unrelated = await store.SearchAsync(User(c), UnrelatedQuery(set, i), TopK, ct);
            // The same follow-up asked by the next case's user must not bring this user's fact.
            var neighbour = await store.SearchAsync(User(set.Cases[(i + 1) % set.Cases.Count]), c.Query, TopK, ct);
            int rank = found.ToList().FindIndex(m => m.Memory == c.KeyFact);
            results.Add((rank == 0, rank >= 0, found.Count, unrelated.Count, !neighbour.Any(m => m.Memory == c.KeyFact),
                rank == 0 ? null : $"{c.Id}@{(rank < 0 ? "-" : rank.ToString(System.Globalization.CultureInfo.InvariantCulture))}"));
        });
        foreach (var r in results)
        {
            top1 += r.Top1 ? 1 : 0;
            top5 += r.Top5 ? 1 : 0;
            shown += r.Shown;
            shownUnrelated += r.ShownUnrelated;
            checks++;
            isolated += r.Isolated ? 1 : 0;
        }

        // Users whose ids differ in case, spacing or one character: separate memories.
        foreach (var iso in set.Isolation)
        {
            string owner = $"{iso.Owner}-{run}", other = $"{iso.Other}-{run}";
            await store.AddAsync(new MemoryExchange($"{run}-iso-{checks}", owner, now.AddMinutes(-1),
                [new ChatTurn(ChatTurn.User, iso.Fact), new ChatTurn(ChatTurn.Assistant, "Thanks, noted.")]), ct);
            bool ownerFinds = (await store.SearchAsync(owner, iso.Query, TopK, ct)).Any(m => m.Memory == iso.Fact);
            bool otherSeesNothing = (await store.SearchAsync(other, iso.Query, TopK, ct)).Count == 0;
            checks++;
            isolated += ownerFinds && otherSeesNothing ? 1 : 0;
            await store.DeleteAllAsync(owner, ct);
        }

        var updates = new ConcurrentBag<(bool InPrompt, bool BeforeOlder, bool FirstByRelevance, bool Stale, int OlderShown, string Id)>();
        await ForEachAsync(set.Updates, async u =>
        {
            var found = await store.SearchAsync(UpdateUser(u), u.Query, TopK, ct);
            var byRelevance = found.Select(m => m.Memory).ToList();
            var prompt = RecalledMemories.NewestFirst(found).Select(m => m.Text).ToList(); // what the recall puts in the prompt
            var older = u.Older.ToHashSet(StringComparer.Ordinal);
            bool Before(List<string> order) => order.IndexOf(u.Newest) is >= 0 and var at && order.Take(at).All(m => !older.Contains(m));
            int olderShown = prompt.Count(older.Contains);
            bool inPrompt = prompt.Contains(u.Newest);
            updates.Add((inPrompt, Before(prompt), Before(byRelevance), !inPrompt && olderShown > 0, olderShown, u.Id));
        });

        await ForEachAsync(set.Cases, c => store.DeleteAllAsync(User(c), ct));
        await ForEachAsync(set.Updates, u => store.DeleteAllAsync(UpdateUser(u), ct));
        int n = set.Cases.Count;
        var notFirst = results.Select(r => r.NotFirst).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        var scored = updates.ToList();
        var updateScore = new UpdateScore(name, scored.Count, scored.Count(x => x.InPrompt), scored.Count(x => x.BeforeOlder), scored.Count(x => x.FirstByRelevance),
            scored.Count(x => x.Stale), scored.Sum(x => x.OlderShown))
        {
            Missed = [.. scored.Where(x => !x.InPrompt || x.Stale).Select(x => x.Id).Order(StringComparer.Ordinal)],
        };
        return new StoreEvaluation(new EvaluationScore(name, n, top1, top5, (double)shown / n, (double)shownUnrelated / n) { NotFirst = notFirst },
            updateScore, new IsolationScore(checks, isolated));
    }

    /// <summary>
    /// Cosine similarities (float32) between statements a user made on one subject (each update case's consecutive
    /// statements) and between statements on different subjects (every pair in an update case's history that is not on
    /// its subject): what a "same subject" threshold has to separate.
    /// </summary>
    public static async Task<(float[] SameSubject, float[] DifferentSubjects, IReadOnlyList<string> SamePairs)> PairSimilaritiesAsync(
        IEmbeddingGenerator<string, Embedding<float>> embeddings, EvaluationSet set, CancellationToken ct)
    {
        var texts = set.Updates.SelectMany(u => u.History).Distinct().ToArray();
        var generated = await embeddings.GenerateAsync(texts, cancellationToken: ct);
        var vectors = texts.Select((t, i) => (t, v: generated[i].Vector.ToArray())).ToDictionary(x => x.t, x => x.v);
        var same = new List<float>();
        var samePairs = new List<(string Id, float Similarity)>();
        var different = new List<float>();
        foreach (var u in set.Updates)
        {
            for (int k = 1; k < u.Said.Count; k++)
            {
                float similarity = TensorPrimitives.CosineSimilarity(vectors[u.Said[k - 1]], vectors[u.Said[k]]);
                same.Add(similarity);
                samePairs.Add((u.Said.Count > 2 ? $"{u.Id}#{k}" : u.Id, similarity));
            }
            var kept = u.History.Where(WorthRemembering.Statement).ToArray();
            for (int a = 0; a < kept.Length; a++)
            {
                for (int b = a + 1; b < kept.Length; b++)
                {
                    if (!(u.Said.Contains(kept[a]) && u.Said.Contains(kept[b])))
                    {
                        different.Add(TensorPrimitives.CosineSimilarity(vectors[kept[a]], vectors[kept[b]]));
                    }
                }
            }
        }
        return ([.. same.Order()], [.. different.Order()],
            [.. samePairs.OrderBy(p => p.Similarity).Select(p => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{p.Id} {p.Similarity:0.00}"))]);
    }

    /// <summary>
    /// The same cases in memory, through the built-in store's own pieces (its remember rule, ranking and int8 vectors),
    /// changing one thing at a time; and the old keyword ranking.
    /// </summary>
    public static async Task<IReadOnlyList<EvaluationScore>> RunVariantsAsync(IEmbeddingGenerator<string, Embedding<float>> embeddings, EvaluationSet set, CancellationToken ct)
    {
        var texts = set.Cases.SelectMany(c => c.History.Select(h => h.Text).Append(c.Query)).Distinct().ToArray();
        var generated = await embeddings.GenerateAsync(texts, cancellationToken: ct);
        var vectors = texts.Select((t, i) => (t, v: generated[i].Vector.ToArray())).ToDictionary(x => x.t, x => x.v);
        var d = MemoryRanking.Default;
        return
        [
            Variant(set, vectors, "built-in: int8, rule, minimum 0.10", Encoding.Int8, true, d),
            Variant(set, vectors, "  vectors as float32", Encoding.Float32, true, d),
            Variant(set, vectors, "  vectors as float16", Encoding.Float16, true, d),
            Variant(set, vectors, "  vectors as int4 (half the index of int8)", Encoding.Int4, true, d),
            Variant(set, vectors, "  greetings and questions remembered too", Encoding.Int8, false, d),
            Variant(set, vectors, "  no minimum similarity", Encoding.Int8, true, d with { MinSimilarity = float.MinValue }),
            Variant(set, vectors, "  minimum similarity 0.15", Encoding.Int8, true, d with { MinSimilarity = 0.15f }),
            Variant(set, vectors, "  minimum similarity 0.20", Encoding.Int8, true, d with { MinSimilarity = 0.20f }),
            Variant(set, vectors, "  plus a recency bonus of 0.02 (halving every 30 days)", Encoding.Int8, true, d with { RecencyWeight = 0.02 }),
            Variant(set, vectors, "  plus a recency bonus of 0.05", Encoding.Int8, true, d with { RecencyWeight = 0.05 }),
            Variant(set, vectors, "  plus a keyword bonus (0.1 × share of the query's words)", Encoding.Int8, true, d, keywordWeight: 0.1),
            Keyword(set),
        ];
    }

    public static EvaluationScore Keyword(EvaluationSet set)
    {
        int top1 = 0, top5 = 0, shown = 0, unrelated = 0;
        for (int i = 0; i < set.Cases.Count; i++)
        {
            var c = set.Cases[i];
            var said = c.History.Select(h => h.Text).ToArray();
            var found = KeywordRanking.Search(said, c.Query, TopK);
            top1 += found.Count > 0 && found[0] == c.KeyFact ? 1 : 0;
            top5 += found.Contains(c.KeyFact) ? 1 : 0;
            shown += found.Count;
            unrelated += KeywordRanking.Search(said, UnrelatedQuery(set, i), TopK).Count;
        }
        int n = set.Cases.Count;
        return new EvaluationScore("old keyword ranking (every statement kept)", n, top1, top5, (double)shown / n, (double)unrelated / n);
    }

    private enum Encoding { Float32, Float16, Int8, Int4 }

    private static EvaluationScore Variant(EvaluationSet set, Dictionary<string, float[]> vectors, string name, Encoding encoding, bool rule, MemoryRanking ranking, double keywordWeight = 0)
    {
        var now = DateTimeOffset.UtcNow;
        int top1 = 0, top5 = 0, shown = 0, unrelated = 0;
        for (int i = 0; i < set.Cases.Count; i++)
        {
            var c = set.Cases[i];
            var kept = c.History.Select((h, k) => (h.Text, When: now.AddDays(-(c.History.Count - k))))
                .Where(h => !rule || WorthRemembering.Statement(h.Text)).ToList();
            List<string> Search(string query) => kept
                .Select(h => (h.Text, Similarity: Similarity(vectors[query], vectors[h.Text], encoding), h.When))
                .Where(h => h.Similarity >= ranking.MinSimilarity)
                .OrderByDescending(h => ranking.Score(h.Similarity, h.When, now) + keywordWeight * KeywordRanking.SharedWordShare(query, h.Text))
                .Take(TopK).Select(h => h.Text).ToList();
            var found = Search(c.Query);
            top1 += found.Count > 0 && found[0] == c.KeyFact ? 1 : 0;
            top5 += found.Contains(c.KeyFact) ? 1 : 0;
            shown += found.Count;
            unrelated += Search(UnrelatedQuery(set, i)).Count;
        }
        int n = set.Cases.Count;
        return new EvaluationScore(name, n, top1, top5, (double)shown / n, (double)unrelated / n);
    }

    private static float Similarity(float[] query, float[] memory, Encoding encoding)
    {
        switch (encoding)
        {
            case Encoding.Int8:
                return IndexedMemory.Quantize("m", memory, "").Similarity(query, new float[query.Length]);
            case Encoding.Int4:
                float max = Math.Abs(TensorPrimitives.MaxMagnitude(memory));
                var nibbles = memory.Select(x => (float)Math.Round(x * 7 / max)).ToArray();
                return TensorPrimitives.CosineSimilarity(query, nibbles);
            case Encoding.Float16:
                var half = memory.Select(x => (float)(Half)x).ToArray();
                return TensorPrimitives.CosineSimilarity(query, half);
            default:
                return TensorPrimitives.CosineSimilarity(query, memory);
        }
    }

    /// <summary>Another case's follow-up, on a topic this case's user never mentioned.</summary>
    private static string UnrelatedQuery(EvaluationSet set, int i)
    {
        for (int k = 5; ; k++)
        {
            var other = set.Cases[(i + k) % set.Cases.Count];
            if (other.Topic != set.Cases[i].Topic && set.Cases[i].History.All(h => !h.Text.Equals(other.KeyFact, StringComparison.Ordinal)))
            {
                return other.Query;
            }
        }
    }

    private static Task ForEachAsync<T>(IEnumerable<T> items, Func<T, Task> body) =>
        System.Threading.Tasks.Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (item, _) => await body(item));
}
