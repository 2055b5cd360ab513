using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using SupportAgent.Fakes;
using SupportAgent.Functions.Memory.BuiltIn;
using SupportAgent.Functions.Storage;
using SupportAgent.MemoryEvaluation;

namespace SupportAgent.Benchmark.MemoryEvaluation;

/// <summary>
/// scripts/eval-memory.sh: the evaluation set against the built-in store on a fresh Azurite (started here, in memory):
/// the store as configured, then the same store with one choice about superseding changed at a time; then the recall
/// cases in memory for each encoding and ranking variant and the old keyword ranking. Prints tables; exit code 0.
/// </summary>
internal static class EvaluationCommand
{
    public static async Task<int> RunAsync(string repoRoot, PidFile pids, TextWriter output, TextWriter progress, CancellationToken ct)
    {
        var set = EvaluationSet.Load();
        int blob = Loopback.FreePort(), queue = Loopback.FreePort(), table = Loopback.FreePort();
        string logs = Directory.CreateDirectory(Path.Combine(repoRoot, "artifacts", "eval-memory")).FullName;
        progress.WriteLine($"eval-memory: {set.Cases.Count} cases, {set.Updates.Count} update cases, {set.Isolation.Count} isolation pairs; starting Azurite");
        await using var azurite = await Stack.StartAzuriteAsync(repoRoot, Path.Combine(logs, "azurite.log"), pids, blob, queue, table, ct);
        using var model = new MiniLmEmbeddingGenerator();
        var embeddings = new CachedEmbeddings(model);
        var storage = new StorageClients(Options.Create(new StorageOptions { ConnectionString = Loopback.AzuriteConnectionString(blob, queue, table) }));
        BuiltInMemoryStore Store(Supersession supersession, bool showSuperseded = false) =>
            new(storage, embeddings, new MemoryIndexCache(), TimeProvider.System)
            {
                Supersession = supersession,
                Ranking = MemoryRanking.Default with { ShowSuperseded = showSuperseded },
            };

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var store = await MemoryEvaluator.RunStoreAsync(Store(Supersession.Default), set, "built-in store on Azurite", ct);
        progress.WriteLine($"eval-memory: store run took {clock.Elapsed.TotalSeconds:0.0} s; the superseding variants on Azurite");
        var d = Supersession.Default;
        var variants = new List<StoreEvaluation>();
        foreach (var (name, supersession, show) in new (string, Supersession, bool)[]
        {
            ("  nothing linked (dates and newest first only)", Supersession.Never, false),
            ("  replaced memories still returned, after the current one", d, true),
            ("  no follow links (only replacing ones)", d with { FollowFrom = d.ReplaceFrom }, false),
            ($"  follow from similarity {d.FollowFrom - 0.05f:0.00}", d with { FollowFrom = d.FollowFrom - 0.05f }, false),
            ($"  follow from similarity {d.FollowFrom + 0.1f:0.00}", d with { FollowFrom = d.FollowFrom + 0.1f }, false),
            ($"  replace from similarity {d.ReplaceFrom - 0.1f:0.00}", d with { ReplaceFrom = d.ReplaceFrom - 0.1f }, false),
            ($"  replace from similarity {d.ReplaceFrom + 0.1f:0.00}", d with { ReplaceFrom = d.ReplaceFrom + 0.1f }, false),
            ("  no shared-identifier rule", d with { ReplaceWithSharedIdentifierFrom = d.ReplaceFrom }, false),
        })
        {
            variants.Add(await MemoryEvaluator.RunStoreAsync(Store(supersession, show), set, name, ct));
        }
        progress.WriteLine($"eval-memory: store runs took {clock.Elapsed.TotalSeconds:0.0} s; variants in memory");
        var inMemory = await MemoryEvaluator.RunVariantsAsync(embeddings, set, ct);
        var pairs = await MemoryEvaluator.PairSimilaritiesAsync(embeddings, set, ct);
        output.Write(Table(set, store, variants, inMemory, pairs));
        return 0;
    }

    public static string Table(EvaluationSet set, StoreEvaluation store, IReadOnlyList<StoreEvaluation> storeVariants, IReadOnlyList<EvaluationScore> inMemory,
        (float[] SameSubject, float[] DifferentSubjects, IReadOnlyList<string> SamePairs) pairs)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"Memory evaluation: {set.Cases.Count} recall cases (key fact, {EvaluationSet.UnrelatedPerCase}+ unrelated statements, greetings and questions, then a follow-up), {set.Updates.Count} update cases, top k = {MemoryEvaluator.TopK}");
        sb.AppendLine();
        sb.AppendLine("Updates (in the prompt: the store's top k, listed newest first as the recall does):");
        sb.AppendLine();
        sb.AppendLine("| store | newest in the prompt | newest before every older one | stale without the newest | older ones shown per case | newest first by relevance |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var u in new[] { store }.Concat(storeVariants).Select(e => e.Updates))
        {
            sb.AppendLine(inv, $"| {u.Name.Trim()} | {u.NewestInPromptRate:0.000} ({u.NewestInPrompt}/{u.Cases}) | {u.NewestBeforeOlderRate:0.000} ({u.NewestBeforeOlder}/{u.Cases}) | {u.StaleWithoutNewestRate:0.000} ({u.StaleWithoutNewest}/{u.Cases}) | {u.MeanOlderShown:0.00} | {u.NewestFirstByRelevanceRate:0.000} ({u.NewestFirstByRelevance}/{u.Cases}) |");
        }
        sb.AppendLine();
        sb.AppendLine("Recall (the store's own order, by relevance):");
        sb.AppendLine();
        sb.AppendLine("| ranking | recall@1 | recall@5 | memories in prompt | for an unrelated query |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var s in new[] { store.Recall }.Concat(storeVariants.Select(v => v.Recall)).Concat(inMemory))
        {
            string where = s == store.Recall || storeVariants.Any(v => v.Recall == s) ? "" : s.Name.StartsWith("  ", StringComparison.Ordinal) ? " (in memory)" : "";
            sb.AppendLine(inv, $"| {s.Name.Trim()}{where} | {s.Recall1:0.000} ({s.Top1}/{s.Cases}) | {s.Recall5:0.000} ({s.Top5}/{s.Cases}) | {s.MeanInPrompt:0.00} | {s.MeanInPromptUnrelated:0.00} |");
        }
        sb.AppendLine();
        sb.AppendLine(inv, $"Built-in store, key fact not first (case@rank, - = not in the prompt): {string.Join(", ", store.Recall.NotFirst)}");
        sb.AppendLine(inv, $"Built-in store, update cases missed (newest not in the prompt, or an older one without it): {(store.Updates.Missed.Count == 0 ? "none" : string.Join(", ", store.Updates.Missed))}");
        sb.AppendLine(inv, $"Isolation: {store.Isolation.Passed}/{store.Isolation.Checks} checks ({store.Isolation.Rate:P0}): no search returned another user's memory.");
        sb.AppendLine(inv, $"Cosine similarity (float32) of statements on one subject, {pairs.SameSubject.Length} pairs: {Summary(pairs.SameSubject)}");
        sb.AppendLine(inv, $"Cosine similarity (float32) of statements on different subjects, {pairs.DifferentSubjects.Length} pairs: {Summary(pairs.DifferentSubjects)}");
        sb.AppendLine(inv, $"Statements on one subject, by similarity: {string.Join(", ", pairs.SamePairs)}");
        return sb.ToString();
    }

    private static string Summary(float[] sorted)
    {
        if (sorted.Length == 0)
        {
            return "-";
        }
        float At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))];
        return string.Create(CultureInfo.InvariantCulture, $"min {sorted[0]:0.00}, 10% {At(0.10):0.00}, median {At(0.5):0.00}, 90% {At(0.9):0.00}, 99% {At(0.99):0.00}, max {sorted[^1]:0.00}");
    }
}
