using Microsoft.Extensions.Options;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Sizes the recalled memories to their share of the prompt budget (<see cref="ModelLimits.MemoryTokens"/>), so a long
/// memory cannot push the conversation out of the window. Memories come most relevant and newest first; they are kept
/// in that order while they fit, and the first one that does not is cut to what is left (if that is worth sending).
/// </summary>
public sealed class MemoryShare(ChatTokenCounter counter, IOptions<ModelLimits> limits)
{
    /// <summary>The "- yyyy-MM-dd: " and line break around each memory in the system prompt.</summary>
    internal const int TokensPerMemoryLine = 10;

    private const int SmallestUsefulCut = 32;

    private readonly int _share = limits.Value.MemoryTokens;

    public RecalledMemories Fit(RecalledMemories memories)
    {
        int left = _share;
        var kept = new List<RecalledMemory>(memories.Facts.Count);
        foreach (var fact in memories.Facts)
        {
            int tokens = counter.Count(fact.Text) + TokensPerMemoryLine;
            if (tokens <= left)
            {
                kept.Add(fact);
                left -= tokens;
                continue;
            }
            if (left - TokensPerMemoryLine >= SmallestUsefulCut)
            {
                kept.Add(fact with { Text = counter.Truncate(fact.Text, left - TokensPerMemoryLine) + "…" });
            }
            break;
        }
        return kept.Count == memories.Facts.Count ? memories : memories with { Facts = kept };
    }
}
