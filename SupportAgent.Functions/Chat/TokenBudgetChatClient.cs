using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using AiChatOptions = Microsoft.Extensions.AI.ChatOptions;
using AiChatResponse = Microsoft.Extensions.AI.ChatResponse;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Every model call within the token budget: the prompt fitted by <see cref="ConversationWindow"/> and the output limited
/// to <c>MAX_OUTPUT_TOKENS</c>, so prompt + output fit the model's window. If the model still refuses the prompt as too
/// long (its window is smaller than the settings say), the failure gets our counts beside the model's, for its log line.
/// </summary>
public sealed partial class TokenBudgetChatClient(IChatClient innerClient, ConversationWindow window, ModelLimits limits, ILogger<TokenBudgetChatClient> logger)
    : DelegatingChatClient(innerClient)
{
    public override async Task<AiChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, AiChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var fitted = Fit(messages);
        try
        {
            return await base.GetResponseAsync(fitted.Messages, WithOutputLimit(options), cancellationToken);
        }
        catch (ModelException ex) when (ex.ContextWindow is not null)
        {
            throw WithOurCounts(ex, fitted);
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, AiChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var fitted = Fit(messages);
        var updates = base.GetStreamingResponseAsync(fitted.Messages, WithOutputLimit(options), cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (updates)
        {
            while (true)
            {
                try
                {
                    if (!await updates.MoveNextAsync())
                    {
                        break;
                    }
                }
                catch (ModelException ex) when (ex.ContextWindow is not null)
                {
                    throw WithOurCounts(ex, fitted);
                }
                yield return updates.Current;
            }
        }
    }

    private ConversationWindow.Fitted Fit(IEnumerable<ChatMessage> messages)
    {
        var all = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var fitted = window.Fit(all);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            LogFitted(logger, fitted.Messages.Count, all.Count, fitted.Dropped, fitted.PromptTokens, limits.PromptTokenBudget);
        }
        return fitted;
    }

    private AiChatOptions WithOutputLimit(AiChatOptions? options)
    {
        var limited = options?.Clone() ?? new AiChatOptions();
        limited.MaxOutputTokens = Math.Min(limited.MaxOutputTokens ?? limits.MaxOutputTokens, limits.MaxOutputTokens);
        return limited;
    }

    private ModelException WithOurCounts(ModelException ex, ConversationWindow.Fitted fitted) =>
        new(ex.Failure, ex.ProviderStatus, ex.Message, ex.RetryAfter, ex.InnerException)
        {
            ContextWindow = ex.ContextWindow! with
            {
                PromptTokens = fitted.PromptTokens,
                MaxOutputTokens = limits.MaxOutputTokens,
                ContextTokens = limits.EffectiveContextTokens,
            },
        };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prompt fitted to the budget: {Kept} of {Total} messages ({Dropped} older dropped), {PromptTokens} tokens of {Budget}")]
    private static partial void LogFitted(ILogger logger, int kept, int total, int dropped, int promptTokens, int budget);
}
