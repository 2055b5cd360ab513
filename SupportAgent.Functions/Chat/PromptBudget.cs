using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// The one check of a request against the token budget, before any memory search or model call: the last user message
/// is always sent, so it must fit in <c>PROMPT_TOKEN_BUDGET</c> beside the system prompt and the memories' share.
/// </summary>
public sealed class PromptBudget(ChatTokenCounter counter, SystemPrompt systemPrompt, IOptions<ModelLimits> limits)
{
    /// <summary>Room for the system prompt's memory section heading and rounding between counted pieces.</summary>
    private const int Slack = 16;

    private readonly ModelLimits _limits = limits.Value;

    /// <summary>The most tokens the last user message may have.</summary>
    public int LastMessageLimit()
    {
        // The prompt as it is with memories: the heading and its explanation, then one (empty) memory line.
        string baseline = systemPrompt.Build(new RecalledMemories([new RecalledMemory("", null)], MemoryStatus.Ok));
        return _limits.PromptTokenBudget - ChatTokenCounter.ReplyPriming - ChatTokenCounter.TokensPerMessage * 2
            - counter.Count(baseline) - _limits.MemoryTokens - Slack;
    }

    /// <summary>A 400 naming the last user message when it alone cannot fit; null when it can.</summary>
    public ChatInputProblem? RefuseTooLong(ChatRequest request)
    {
        int limit = LastMessageLimit();
        int tokens = counter.Count(request.LastUserMessage);
        if (tokens <= limit)
        {
            return null;
        }
        string field = $"messages[{request.Messages.Count - 1}].{(request.UiMessages ? "parts" : "content")}";
        return new ChatInputProblem(StatusCodes.Status400BadRequest, field,
            $"{field} is {tokens} tokens long; a message can be at most {limit} tokens (this service's prompt budget). Send a shorter message, or split it.");
    }
}
