namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>
/// Which user statements the built-in store keeps. With no LLM to extract facts, every statement would be kept,
/// and "Any updates?" or "thanks!" would then be the best match for the next "Any updates?", pushing the facts out of
/// the prompt. A cheap rule instead: a statement is kept unless every clause of it is a greeting, a thank-you or
/// acknowledgement, or a question. "Hi, my order #1234 hasn't arrived" is kept (its second clause is a statement);
/// "Any updates?" and "Thanks, bye!" are not. Its effect on the evaluation is in docs/memory.md.
/// </summary>
public static class WorthRemembering
{
    private static readonly HashSet<string> Phatic = new(StringComparer.OrdinalIgnoreCase)
    {
        "hi", "hello", "hey", "hiya", "good morning", "good afternoon", "good evening", "thanks", "thank you", "thanks a lot",
        "thank you so much", "thanks so much", "many thanks", "cheers", "ok", "okay", "ok great", "great", "perfect", "cool",
        "nice", "sure", "yes", "no", "yep", "nope", "got it", "bye", "goodbye", "see you", "that's all", "that is all",
        "no problem", "sounds good", "all good", "hi there", "hello there", "hey there", "ok thanks", "okay thanks", "great thanks",
    };

    // Leading words of a question asked without a question mark ("any updates", "where is it").
    private static readonly HashSet<string> QuestionStarts = new(StringComparer.OrdinalIgnoreCase)
    {
        "any", "anything", "what", "where", "when", "why", "how", "who", "which", "is", "are", "can", "could", "do", "does",
        "did", "will", "would", "has", "have", "should", "may",
    };

    public static bool Statement(string text)
    {
        foreach (var clause in Clauses(text))
        {
            if (!IsPhatic(clause.Text) && !IsQuestion(clause))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsPhatic(string clause)
    {
        string words = string.Join(' ', Words(clause));
        return words.Length == 0 || Phatic.Contains(words);
    }

    private static bool IsQuestion((string Text, bool EndsWithQuestionMark) clause)
    {
        if (clause.EndsWithQuestionMark)
        {
            return true;
        }
        var words = Words(clause.Text).ToArray();
        return words.Length is > 0 and <= 4 && QuestionStarts.Contains(words[0]);
    }

    private static IEnumerable<(string Text, bool EndsWithQuestionMark)> Clauses(string text)
    {
        int start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            char c = i < text.Length ? text[i] : '.';
            if (c is '.' or '!' or '?' or ',' or ';' or '\n' or ':')
            {
                string clause = text[start..i].Trim();
                if (clause.Length > 0)
                {
                    yield return (clause, c == '?');
                }
                start = i + 1;
            }
        }
    }

    private static IEnumerable<string> Words(string clause) =>
        clause.Split([' ', '\t', '\r', '"', '(', ')', '-'], StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Trim('\'', '*', '~').ToLowerInvariant())
            .Where(w => w.Length > 0);
}
