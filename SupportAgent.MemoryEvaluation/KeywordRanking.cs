using System.Text;

namespace SupportAgent.MemoryEvaluation;

/// <summary>
/// The ranking of the keyword store the built-in store replaced, kept only for the evaluation's comparison: every user
/// statement verbatim, ordered by the number of shared words longer than two letters, then newest first; top k.
/// </summary>
public static class KeywordRanking
{
    public static IReadOnlyList<string> Search(IReadOnlyList<string> statementsOldestFirst, string query, int topK)
    {
        var queryWords = Words(query);
        return statementsOldestFirst
            .Select((text, i) => (text, i, overlap: Words(text).Count(queryWords.Contains)))
            .OrderByDescending(s => s.overlap)
            .ThenByDescending(s => s.i)
            .Take(topK)
            .Select(s => s.text)
            .ToArray();
    }

    /// <summary>The share of the query's words (longer than two letters) that the text has too.</summary>
    public static double SharedWordShare(string query, string text)
    {
        var queryWords = Words(query);
        return queryWords.Count == 0 ? 0 : (double)Words(text).Count(queryWords.Contains) / queryWords.Count;
    }

    private static HashSet<string> Words(string text)
    {
        var words = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var current = new StringBuilder();
        foreach (char c in text + " ")
        {
            if (char.IsLetterOrDigit(c))
            {
                current.Append(char.ToLowerInvariant(c));
            }
            else if (current.Length > 0)
            {
                if (current.Length > 2)
                {
                    words.Add(current.ToString());
                }
                current.Clear();
            }
        }
        return words;
    }
}
