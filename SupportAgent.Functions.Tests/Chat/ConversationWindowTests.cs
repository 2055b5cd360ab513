using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Tests.Chat;

/// <summary>What of a conversation reaches the model within the budget (in process: the reducer, the memory share, the settings).</summary>
public sealed class ConversationWindowTests
{
    private static readonly ChatTokenCounter Counter = new("gpt-4o-mini");

    private static ConversationWindow Window(int budget) => new(Counter, Options.Create(new ModelLimits { PromptTokenBudget = budget }));

    private static ChatMessage User(string text) => new(ChatRole.User, text);

    private static ChatMessage Assistant(string text) => new(ChatRole.Assistant, text);

    /// <summary>A turn of about <paramref name="words"/> tokens.</summary>
    private static string Words(string tag, int words) => tag + " " + string.Join(' ', Enumerable.Repeat("word", words));

    [Fact]
    public void A_conversation_within_the_budget_is_sent_whole()
    {
        List<ChatMessage> messages = [new(ChatRole.System, "Be helpful."), User("hi"), Assistant("hello"), User("my order?")];

        var fitted = Window(1_000).Fit(messages);

        Assert.Same(messages, fitted.Messages);
        Assert.Equal(0, fitted.Dropped);
        Assert.Equal(Counter.Count(messages), fitted.PromptTokens);
    }

    [Fact]
    public void The_oldest_whole_turns_are_dropped_and_the_system_prompt_and_last_user_message_kept()
    {
        var messages = new List<ChatMessage> { new(ChatRole.System, "Be helpful.") };
        for (int i = 0; i < 20; i++)
        {
            messages.Add(User(Words($"u{i}", 40)));
            messages.Add(Assistant(Words($"a{i}", 40)));
        }
        messages.Add(User("last question"));

        var fitted = Window(600).Fit(messages);

        Assert.True(fitted.PromptTokens <= 600, $"{fitted.PromptTokens} tokens");
        Assert.Equal(Counter.Count(fitted.Messages), fitted.PromptTokens);
        Assert.Equal(ChatRole.System, fitted.Messages[0].Role);
        Assert.Equal("last question", fitted.Messages[^1].Text);
        // Whole turns: the first kept message after the system prompt is a user's, and the kept ones are the newest, in order.
        Assert.Equal(ChatRole.User, fitted.Messages[1].Role);
        var kept = fitted.Messages.Skip(1).ToList();
        Assert.Equal(messages.Skip(messages.Count - kept.Count), kept);
        Assert.Equal(messages.Count - fitted.Messages.Count, fitted.Dropped);
        Assert.InRange(kept.Count, 5, 13); // ~45 tokens a message: several turns fit, not all
        // One more turn would not have fitted.
        var oneMore = messages.Skip(messages.Count - kept.Count - 2).Prepend(messages[0]);
        Assert.True(Counter.Count(oneMore) > 600);
    }

    [Fact]
    public void An_assistant_reply_never_goes_without_the_user_turn_it_answers()
    {
        // A big user turn followed by a short reply: the reply alone would fit, but not without its question.
        List<ChatMessage> messages = [new(ChatRole.System, "S"), User(Words("q1", 500)), Assistant("short answer"), User("next")];

        var fitted = Window(200).Fit(messages);

        Assert.Equal(["S", "next"], fitted.Messages.Select(m => m.Text));
    }

    [Fact]
    public void Several_user_messages_and_replies_make_one_turn()
    {
        List<ChatMessage> messages =
        [
            new(ChatRole.System, "S"), User(Words("old", 300)), Assistant("a0"),
            User("first part"), User("second part"), Assistant("a1"), Assistant("a1 more"), User("now"),
        ];

        var fitted = Window(200).Fit(messages);

        Assert.Equal(["S", "first part", "second part", "a1", "a1 more", "now"], fitted.Messages.Select(m => m.Text));
    }

    [Fact]
    public void The_last_user_message_is_kept_even_when_it_alone_is_over_the_budget()
    {
        List<ChatMessage> messages = [new(ChatRole.System, "S"), User("earlier"), Assistant("reply"), User(Words("huge", 800))];

        var fitted = Window(500).Fit(messages);

        Assert.Equal(["S", messages[^1].Text], fitted.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task As_an_IChatReducer_it_gives_the_same_messages()
    {
        List<ChatMessage> messages = [new(ChatRole.System, "S"), User(Words("q1", 500)), Assistant("r"), User("next")];

        var reduced = await Window(200).ReduceAsync(messages, CancellationToken.None);

        Assert.Equal(["S", "next"], reduced.Select(m => m.Text));
    }

    [Fact]
    public void Memories_keep_to_their_share_and_a_long_one_is_cut_not_the_conversation()
    {
        var limits = Options.Create(new ModelLimits { PromptTokenBudget = 2_000 }); // a share of 500 tokens
        var share = new MemoryShare(Counter, limits);
        var memories = new RecalledMemories(
        [
            new RecalledMemory("Prefers email.", null),
            new RecalledMemory(Words("long", 2_000), null),
            new RecalledMemory("Lives in Oslo.", null),
        ], MemoryStatus.Ok);

        var fitted = share.Fit(memories);

        Assert.Equal(2, fitted.Facts.Count);
        Assert.Equal("Prefers email.", fitted.Facts[0].Text);
        Assert.EndsWith("…", fitted.Facts[1].Text);
        int tokens = fitted.Facts.Sum(f => Counter.Count(f.Text) + MemoryShare.TokensPerMemoryLine);
        Assert.InRange(tokens, 400, 500 + 2);
        Assert.Same(memories.Facts[0], share.Fit(memories with { Facts = [memories.Facts[0]] }).Facts[0]);
    }

    [Theory]
    [InlineData("gpt-4o-mini", "o200k_base")]
    [InlineData("gpt-4.1", "o200k_base")]
    [InlineData("o3-mini", "o200k_base")]
    [InlineData("gpt-5", "o200k_base")]
    [InlineData("my-local-llama", "o200k_base")]
    [InlineData("gpt-4", "cl100k_base")]
    [InlineData("gpt-4-turbo", "cl100k_base")]
    [InlineData("gpt-3.5-turbo", "cl100k_base")]
    public void The_tokenizer_is_chosen_from_the_model_name(string model, string encoding) =>
        Assert.Equal(encoding, new ChatTokenCounter(model).Encoding);

    [Theory]
    [InlineData("gpt-4o-mini", 128_000)]
    [InlineData("gpt-4", 8_192)]
    [InlineData("gpt-4.1-mini", 1_047_576)]
    [InlineData("some-deployment", ModelLimits.DefaultContextTokens)]
    public void The_window_defaults_from_the_model_name(string model, int window) =>
        Assert.Equal(window, new ModelLimits { ModelName = model }.EffectiveContextTokens);

    [Fact]
    public void Contradictory_limits_are_one_line_naming_the_three_settings()
    {
        var result = new ModelLimitsValidator().Validate(null, new ModelLimits { ContextTokens = 4_096, PromptTokenBudget = 3_500, MaxOutputTokens = 1_024 });

        string failure = Assert.Single(result.Failures!);
        Assert.DoesNotContain('\n', failure);
        Assert.Contains("PROMPT_TOKEN_BUDGET (3500)", failure);
        Assert.Contains("MAX_OUTPUT_TOKENS (1024)", failure);
        Assert.Contains("MODEL_CONTEXT_TOKENS (4096)", failure);
        Assert.True(new ModelLimitsValidator().Validate(null, new ModelLimits()).Succeeded);
    }
}
