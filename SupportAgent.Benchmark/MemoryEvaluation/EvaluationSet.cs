using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SupportAgent.Benchmark.MemoryEvaluation;

/// <summary>One statement of a user's history, as said (oldest first).</summary>
public sealed record SaidStatement(string Text, bool IsKeyFact, bool IsReplacedFact);

/// <summary>One case: a user who said <see cref="History"/>, then asks <see cref="Query"/>; the key fact must come back.</summary>
public sealed record EvaluationCase(string Id, string Topic, string KeyFact, string Query, IReadOnlyList<SaidStatement> History);

public sealed record IsolationCase(
    [property: JsonPropertyName("owner")] string Owner,
    [property: JsonPropertyName("other")] string Other,
    [property: JsonPropertyName("fact")] string Fact,
    [property: JsonPropertyName("query")] string Query);

/// <summary>
/// The evaluation set (memory-eval-cases.json, written for this project): each case's history is its older fact (if
/// any), the key fact, then 16 statements of other topics with a greeting or pure question after every fifth.
/// </summary>
public sealed class EvaluationSet
{
    public const int UnrelatedPerCase = 16;

    public required IReadOnlyList<EvaluationCase> Cases { get; init; }

    public required IReadOnlyList<IsolationCase> Isolation { get; init; }

    public static EvaluationSet Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("SupportAgent.Benchmark.MemoryEvaluation.memory-eval-cases.json")
            ?? throw new InvalidOperationException("memory-eval-cases.json is not embedded in the benchmark assembly.");
        var file = JsonSerializer.Deserialize<CasesFile>(stream) ?? throw new InvalidDataException("memory-eval-cases.json is empty.");
        var cases = new List<EvaluationCase>();
        for (int i = 0; i < file.Cases.Count; i++)
        {
            var c = file.Cases[i];
            var history = new List<SaidStatement>();
            if (c.Older is { } older)
            {
                history.Add(new SaidStatement(older, false, true));
            }
            history.Add(new SaidStatement(c.Fact, true, false));
            int taken = 0;
            for (int j = 0; taken < UnrelatedPerCase; j++)
            {
                var d = file.Distractors[(i * 7 + j) % file.Distractors.Count];
                if (d.Topic == c.Topic)
                {
                    continue;
                }
                history.Add(new SaidStatement(d.Text, false, false));
                if (++taken % 5 == 0)
                {
                    history.Add(new SaidStatement(file.Smalltalk[(i + taken) % file.Smalltalk.Count], false, false));
                }
            }
            cases.Add(new EvaluationCase(c.Id, c.Topic, c.Fact, c.Query, history));
        }
        return new EvaluationSet { Cases = cases, Isolation = file.Isolation };
    }

    private sealed record CasesFile(
        [property: JsonPropertyName("distractors")] List<Distractor> Distractors,
        [property: JsonPropertyName("smalltalk")] List<string> Smalltalk,
        [property: JsonPropertyName("cases")] List<CaseEntry> Cases,
        [property: JsonPropertyName("isolation")] List<IsolationCase> Isolation);

    private sealed record Distractor([property: JsonPropertyName("topic")] string Topic, [property: JsonPropertyName("text")] string Text);

    private sealed record CaseEntry(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("topic")] string Topic,
        [property: JsonPropertyName("fact")] string Fact,
        [property: JsonPropertyName("query")] string Query,
        [property: JsonPropertyName("older")] string? Older);
}
