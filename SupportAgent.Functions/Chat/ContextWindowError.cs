using System.ClientModel;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// The model said the prompt is longer than its window (OpenAI's and Azure OpenAI's <c>context_length_exceeded</c>): the
/// numbers it gave (its window, what it counted) and ours (what we counted, the output limit asked for). Numbers only: the
/// provider's message is never kept.
/// </summary>
public sealed partial record ContextWindowError(int? ModelWindow, int? ModelCounted)
{
    public const string Code = "context_length_exceeded";

    public int? PromptTokens { get; init; }

    public int? MaxOutputTokens { get; init; }

    public int? ContextTokens { get; init; }

    /// <summary>The error, if the provider's answer is one: <c>{"error":{"code":"context_length_exceeded","message":"…maximum context length is N tokens. However, you requested M tokens…"}}</c>.</summary>
    public static ContextWindowError? From(ClientResultException ex)
    {
        if (ex.Status != 400)
        {
            return null;
        }
        string? message = null;
        bool matches = false;
        try
        {
            var content = ex.GetRawResponse()?.Content;
            if (content is not null && content.ToMemory().Length > 0)
            {
                using var document = JsonDocument.Parse(content.ToMemory());
                if (document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                {
                    matches = error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String && code.GetString() == Code;
                    message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // A body that is not the error envelope: the exception's own text may still carry the code.
        }
        if (!matches && !ex.Message.Contains(Code, StringComparison.Ordinal))
        {
            return null;
        }
        message ??= ex.Message;
        return new ContextWindowError(Number(WindowPattern().Match(message)), Number(CountedPattern().Match(message)));
    }

    private static int? Number(Match match) =>
        match.Success && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;

    [GeneratedRegex(@"maximum context length is (\d+) tokens")]
    private static partial Regex WindowPattern();

    // OpenAI: "However, you requested M tokens"; Azure: "However, your messages resulted in M tokens".
    [GeneratedRegex(@"(?:requested|resulted in) (\d+) tokens")]
    private static partial Regex CountedPattern();
}
