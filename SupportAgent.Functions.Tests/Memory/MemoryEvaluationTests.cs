using SupportAgent.Benchmark.MemoryEvaluation;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>
/// The memory evaluation (scripts/eval-memory.sh) against the real built-in store on Azurite: follow-ups that share
/// no words with the fact must still bring it back, and no user may ever see another's memories. The floors sit just
/// at the targets, which the store meets (0.972 and 0.778 measured, docs/memory.md): a change that makes remembering worse fails here.
/// </summary>
public sealed class MemoryEvaluationTests
{
    private const double Recall5Floor = 0.95;
    private const double Recall1Floor = 0.75;

    [Fact]
    public async Task The_built_in_store_remembers_the_evaluation_set_and_keeps_users_apart()
    {
        var set = EvaluationSet.Load();
        Assert.True(set.Cases.Count >= 30, "the set has at least 30 cases");
        Assert.All(set.Cases, c => Assert.True(c.History.Count(h => !h.IsKeyFact && !h.IsReplacedFact) >= 15, c.Id));

        var store = BuiltInMemoryStoreTests.NewStore();
        var (score, isolation) = await MemoryEvaluator.RunStoreAsync(store, set, "built-in", CancellationToken.None);

        Assert.True(score.Recall5 >= Recall5Floor, $"recall@5 {score.Recall5:0.000} is below {Recall5Floor}");
        Assert.True(score.Recall1 >= Recall1Floor, $"recall@1 {score.Recall1:0.000} is below {Recall1Floor}");
        Assert.Equal(isolation.Checks, isolation.Passed);
    }

    [Fact]
    public void The_old_keyword_ranking_misses_what_the_built_in_store_finds()
    {
        // The reason the keyword store was replaced, kept visible: it finds the key fact by luck.
        var keyword = MemoryEvaluator.Keyword(EvaluationSet.Load());

        Assert.True(keyword.Recall5 < 0.5, $"keyword recall@5 {keyword.Recall5:0.000}");
    }
}
