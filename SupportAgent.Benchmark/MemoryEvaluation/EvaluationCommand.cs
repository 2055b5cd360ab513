using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using SupportAgent.Fakes;
using SupportAgent.Functions.Memory.BuiltIn;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Benchmark.MemoryEvaluation;

/// <summary>
/// scripts/eval-memory.sh: the evaluation set against the built-in store on a fresh Azurite (started here, in memory),
/// then the same cases in memory for each variant and the old keyword ranking. Prints a table; exit code 0.
/// </summary>
internal static class EvaluationCommand
{
    public static async Task<int> RunAsync(string repoRoot, PidFile pids, TextWriter output, TextWriter progress, CancellationToken ct)
    {
        var set = EvaluationSet.Load();
        int blob = Loopback.FreePort(), queue = Loopback.FreePort(), table = Loopback.FreePort();
        string logs = Directory.CreateDirectory(Path.Combine(repoRoot, "artifacts", "eval-memory")).FullName;
        progress.WriteLine($"eval-memory: {set.Cases.Count} cases, {set.Isolation.Count} isolation pairs; starting Azurite");
        await using var azurite = await Stack.StartAzuriteAsync(repoRoot, Path.Combine(logs, "azurite.log"), pids, blob, queue, table, ct);
        using var embeddings = new MiniLmEmbeddingGenerator();
        var store = new BuiltInMemoryStore(
            new StorageClients(Options.Create(new StorageOptions { ConnectionString = Loopback.AzuriteConnectionString(blob, queue, table) })),
            embeddings, new MemoryIndexCache(), TimeProvider.System);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (score, isolation) = await MemoryEvaluator.RunStoreAsync(store, set, "built-in store on Azurite", ct);
        progress.WriteLine($"eval-memory: store run took {clock.Elapsed.TotalSeconds:0.0} s; variants in memory");
        var variants = await MemoryEvaluator.RunVariantsAsync(embeddings, set, ct);
        output.Write(Table(set, score, isolation, variants));
        return 0;
    }

    public static string Table(EvaluationSet set, EvaluationScore store, IsolationScore isolation, IReadOnlyList<EvaluationScore> variants)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"Memory evaluation: {set.Cases.Count} cases (key fact, {EvaluationSet.UnrelatedPerCase}+ unrelated statements, greetings and questions, then a follow-up), top k = {MemoryEvaluator.TopK}");
        sb.AppendLine();
        sb.AppendLine("| ranking | recall@1 | recall@5 | memories in prompt | for an unrelated query |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var s in new[] { store }.Concat(variants))
        {
            sb.AppendLine(inv, $"| {s.Name.Trim()}{(s.Name.StartsWith("  ", StringComparison.Ordinal) ? " (in memory)" : s == store ? "" : "")} | {s.Recall1:0.000} ({s.Top1}/{s.Cases}) | {s.Recall5:0.000} ({s.Top5}/{s.Cases}) | {s.MeanInPrompt:0.00} | {s.MeanInPromptUnrelated:0.00} |");
        }
        sb.AppendLine();
        sb.AppendLine(inv, $"Built-in store, key fact not first (case@rank, - = not in the prompt): {string.Join(", ", store.NotFirst)}");
        sb.AppendLine(inv, $"Isolation: {isolation.Passed}/{isolation.Checks} checks ({isolation.Rate:P0}): no search returned another user's memory.");
        return sb.ToString();
    }
}
