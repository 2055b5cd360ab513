using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Counts prompt tokens as the model will: the model family's tiktoken encoding (o200k_base for gpt-4o, 4.1, the
/// o-series and gpt-5, and for any model it does not know; cl100k_base for gpt-4 and gpt-3.5), plus the chat format's
/// own tokens (OpenAI's: 3 per message, 3 to prime the reply). One per app: the encoding's tables load once.
/// </summary>
public sealed class ChatTokenCounter
{
    public const int TokensPerMessage = 3;
    public const int ReplyPriming = 3;

    private readonly Tokenizer _tokenizer;

    public ChatTokenCounter(IOptions<ModelLimits> limits)
        : this(limits.Value.ModelName)
    {
    }

    public ChatTokenCounter(string modelName)
    {
        Encoding = EncodingFor(modelName);
        _tokenizer = TiktokenTokenizer.CreateForEncoding(Encoding);
    }

    public string Encoding { get; }

    internal static string EncodingFor(string modelName)
    {
        string name = modelName.Trim().ToLowerInvariant();
        bool cl100k = (name.StartsWith("gpt-4", StringComparison.Ordinal) && !name.StartsWith("gpt-4o", StringComparison.Ordinal)
                && !name.StartsWith("gpt-4.1", StringComparison.Ordinal) && !name.StartsWith("gpt-4.5", StringComparison.Ordinal))
            || name.StartsWith("gpt-3.5", StringComparison.Ordinal) || name.StartsWith("gpt-35", StringComparison.Ordinal);
        return cl100k ? "cl100k_base" : "o200k_base";
    }

    public int Count(string text) => text.Length == 0 ? 0 : _tokenizer.CountTokens(text);

    /// <summary>One message in the chat format: its text and the format's per-message tokens.</summary>
    public int Count(ChatMessage message) => TokensPerMessage + Count(message.Text);

    /// <summary>A whole prompt, as the provider counts it.</summary>
    public int Count(IEnumerable<ChatMessage> messages) => messages.Sum(Count) + ReplyPriming;

    /// <summary>The text cut to at most <paramref name="maxTokens"/> tokens, at a token boundary.</summary>
    public string Truncate(string text, int maxTokens)
    {
        int end = _tokenizer.GetIndexByTokenCount(text, maxTokens, out _, out _);
        return text[..end];
    }
}
