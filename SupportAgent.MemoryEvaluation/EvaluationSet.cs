using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SupportAgent.MemoryEvaluation;

/// <summary>One statement of a user's history, as said (oldest first).</summary>
public sealed record SaidStatement(string Text, bool IsKeyFact, bool IsReplacedFact);

/// <summary>One case: a user who said <see cref="History"/>, then asks <see cref="Query"/>; the key fact must come back.</summary>
public sealed record EvaluationCase(string Id, string Topic, string KeyFact, string Query, IReadOnlyList<SaidStatement> History);

/// <summary>
/// One update case: a user who spoke about one subject two or three times (<see cref="Said"/>, oldest first) among
/// unrelated statements (<see cref="History"/> holds them all, in order), then asks <see cref="Query"/>; the newest of
/// <see cref="Said"/> must reach the prompt, before the older ones.
/// </summary>
public sealed record UpdateCase(string Id, string Topic, IReadOnlyList<string> Said, string Query, IReadOnlyList<string> History)
{
    public string Newest => Said[^1];

    public IEnumerable<string> Older => Said.Take(Said.Count - 1);
}

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

    public required IReadOnlyList<UpdateCase> Updates { get; init; }

    public required IReadOnlyList<IsolationCase> Isolation { get; init; }

    public static EvaluationSet Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("SupportAgent.MemoryEvaluation.memory-eval-cases.json")
            ?? throw new InvalidOperationException("memory-eval-cases.json is not embedded in the evaluation assembly.");
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
            history.AddRange(Unrelated(file, i, c.Topic).Select(text => new SaidStatement(text, false, false)));
            cases.Add(new EvaluationCase(c.Id, c.Topic, c.Fact, c.Query, history));
        }
        var updates = new List<UpdateCase>();
        for (int i = 0; i < file.Updates.Count; i++)
        {
            var u = file.Updates[i];
            // The statements on the subject spread over the history: the first at the start, the others after an
            // equal share of the unrelated ones each (a 3-step case: after 5 and after 10 of them).
            var unrelated = Unrelated(file, i + file.Cases.Count, u.Topic);
            var history = new List<string>();
            int step = UnrelatedPerCase / u.Said.Count;
            for (int k = 0; k < u.Said.Count; k++)
            {
                history.Add(u.Said[k]);
                history.AddRange(unrelated.Skip(k * step).Take(k == u.Said.Count - 1 ? unrelated.Count : step));
            }
            updates.Add(new UpdateCase(u.Id, u.Topic, u.Said, u.Query, history));
        }
        return new EvaluationSet { Cases = cases, Updates = updates, Isolation = file.Isolation };
    }

    /// <summary>16 statements of other topics than the case's, with a greeting or pure question after every fifth.</summary>
    private static List<string> Unrelated(CasesFile file, int seed, string topic)
    {
        var said = new List<string>();
        int taken = 0;
        for (int j = 0; taken < UnrelatedPerCase; j++)
        {
            var d = file.Distractors[(seed * 7 + j) % file.Distractors.Count];
            if (d.Topic == topic)
            {
                continue;
            }
            said.Add(d.Text);
            if (++taken % 5 == 0)
            {
                said.Add(file.Smalltalk[(seed + taken) % file.Smalltalk.Count]);
            }
        }
        return said;
    }

    private sealed record CasesFile(
        [property: JsonPropertyName("distractors")] List<Distractor> Distractors,
        [property: JsonPropertyName("smalltalk")] List<string> Smalltalk,
        [property: JsonPropertyName("cases")] List<CaseEntry> Cases,
        [property: JsonPropertyName("updates")] List<UpdateEntry> Updates,
        [property: JsonPropertyName("isolation")] List<IsolationCase> Isolation);

    private sealed record Distractor([property: JsonPropertyName("topic")] string Topic, [property: JsonPropertyName("text")] string Text);

    private sealed record CaseEntry(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("topic")] string Topic,
        [property: JsonPropertyName("fact")] string Fact,
        [property: JsonPropertyName("query")] string Query,
        [property: JsonPropertyName("older")] string? Older);

    private sealed record UpdateEntry(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("topic")] string Topic,
        [property: JsonPropertyName("said")] List<string> Said,
        [property: JsonPropertyName("query")] string Query);
}
