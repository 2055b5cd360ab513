using Microsoft.ML.Tokenizers;

namespace SupportAgent.Fakes;

/// <summary>
/// Tokens as OpenAI counts them: the model family's tiktoken encoding (cl100k_base for gpt-4 and gpt-3.5, o200k_base
/// otherwise) and the chat format's 3 tokens per message plus 3 to prime the reply.
/// </summary>
public static class FakeTokenCounter
{
    private static readonly Lazy<Tokenizer> O200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Lazy<Tokenizer> Cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    public static int Count(string? text, string? model = null) =>
        string.IsNullOrEmpty(text) ? 0 : For(model).CountTokens(text);

    public static int CountPrompt(IEnumerable<RecordedChatMessage> messages, string? model = null) =>
        messages.Sum(m => 3 + Count(m.Content, model)) + 3;

    private static Tokenizer For(string? model)
    {
        string name = (model ?? "").ToLowerInvariant();
        bool cl100k = (name.StartsWith("gpt-4", StringComparison.Ordinal) && !name.StartsWith("gpt-4o", StringComparison.Ordinal)
                && !name.StartsWith("gpt-4.1", StringComparison.Ordinal) && !name.StartsWith("gpt-4.5", StringComparison.Ordinal))
            || name.StartsWith("gpt-3.5", StringComparison.Ordinal);
        return cl100k ? Cl100k.Value : O200k.Value;
    }
}
