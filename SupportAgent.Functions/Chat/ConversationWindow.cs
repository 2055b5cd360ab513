using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// What of a conversation goes to the model within <c>PROMPT_TOKEN_BUDGET</c>: the system prompt (with its memories,
/// already sized by <see cref="MemoryShare"/>), then the newest whole turns that fit, dropped oldest first, and the last
/// user message always. A turn is a user's message(s) with the assistant replies that follow them, so a reply never goes
/// without the message it answers. What the window drops is still in memory: the user's words were queued on their turn.
/// </summary>
public sealed class ConversationWindow(ChatTokenCounter counter, IOptions<ModelLimits> limits) : IChatReducer
{
    private readonly int _budget = limits.Value.PromptTokenBudget;

    /// <summary>The messages kept, oldest first, with their token count as the provider counts a prompt.</summary>
    public sealed record Fitted(IReadOnlyList<ChatMessage> Messages, int PromptTokens, int Dropped);

    public Task<IEnumerable<ChatMessage>> ReduceAsync(IEnumerable<ChatMessage> messages, CancellationToken cancellationToken) =>
        Task.FromResult<IEnumerable<ChatMessage>>(Fit(messages as IReadOnlyList<ChatMessage> ?? messages.ToList()).Messages);

    public Fitted Fit(IReadOnlyList<ChatMessage> messages)
    {
        int head = 0;
        int used = ChatTokenCounter.ReplyPriming;
        while (head < messages.Count && messages[head].Role == ChatRole.System)
        {
            used += counter.Count(messages[head]);
            head++;
        }
        if (head == messages.Count)
        {
            return new Fitted(messages, used, 0);
        }

        // The last message always (the request's last user message: PromptBudget refused it before if it cannot fit).
        int start = messages.Count - 1;
        used += counter.Count(messages[start]);
        while (start > head)
        {
            // The group ending just before `start`: assistant replies back to the user message(s) they answer.
            int group = start;
            while (group > head && messages[group - 1].Role != ChatRole.User)
            {
                group--;
            }
            while (group > head && messages[group - 1].Role == ChatRole.User)
            {
                group--;
            }
            int cost = 0;
            for (int i = group; i < start; i++)
            {
                cost += counter.Count(messages[i]);
            }
            if (used + cost > _budget)
            {
                break; // oldest first: nothing older than a turn that did not fit is kept
            }
            used += cost;
            start = group;
        }

        if (start == head)
        {
            return new Fitted(messages, used, 0);
        }
        var kept = new List<ChatMessage>(head + messages.Count - start);
        for (int i = 0; i < head; i++)
        {
            kept.Add(messages[i]);
        }
        for (int i = start; i < messages.Count; i++)
        {
            kept.Add(messages[i]);
        }
        return new Fitted(kept, used, start - head);
    }
}
