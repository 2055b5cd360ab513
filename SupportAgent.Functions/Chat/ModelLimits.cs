using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// The token budget of every model call: the model's context window, the most prompt the service sends, and the output
/// limit it asks for. Prompt + output must fit the window, or the model refuses the call (context_length_exceeded).
/// </summary>
public sealed class ModelLimits
{
    /// <summary>
    /// The default prompt budget. A support turn needs the instructions, a few memories and the recent conversation:
    /// about 20 turns of ordinary chat fit in 3,000 tokens, and what the window drops is still recalled from memory.
    /// Every call pays for its whole prompt, so a full-history prompt makes turn n cost n times turn 1 (a 100-turn chat
    /// ≈ 50× the input of a 3,000-token budget); the budget caps each call at about $0.00045 of gpt-4o-mini input
    /// ($0.15 per million tokens) and keeps the model's time to first token short.
    /// </summary>
    public const int DefaultPromptTokenBudget = 3_000;

    public const int DefaultMaxOutputTokens = 1_024;

    /// <summary>The window when the model is not in <see cref="KnownWindows"/>: what gpt-4o and most current models have.</summary>
    public const int DefaultContextTokens = 128_000;

    /// <summary>Context windows of known models, by name prefix, longest prefix first (an Azure deployment name matches only if it is a model name).</summary>
    internal static readonly (string Prefix, int Tokens)[] KnownWindows =
    [
        ("gpt-4o-mini", 128_000), ("gpt-4o", 128_000),
        ("gpt-4.1", 1_047_576),
        ("gpt-4-turbo", 128_000), ("gpt-4-32k", 32_768), ("gpt-4", 8_192),
        ("gpt-3.5-turbo", 16_385),
        ("gpt-5", 400_000),
        ("o1-mini", 128_000), ("o1", 200_000), ("o3", 200_000), ("o4-mini", 200_000),
    ];

    [ConfigurationKeyName(SettingNames.ModelContextTokens)] public int? ContextTokens { get; set; }
    [ConfigurationKeyName(SettingNames.PromptTokenBudget)] public int PromptTokenBudget { get; set; } = DefaultPromptTokenBudget;
    [ConfigurationKeyName(SettingNames.MaxOutputTokens)] public int MaxOutputTokens { get; set; } = DefaultMaxOutputTokens;

    /// <summary>The model name the window and the tokenizer are chosen from (OPENAI_MODEL, or the Azure deployment's name).</summary>
    public string ModelName { get; set; } = ModelOptions.DefaultModel;

    public int EffectiveContextTokens => ContextTokens ?? KnownWindow(ModelName) ?? DefaultContextTokens;

    /// <summary>The share of the prompt budget memories may take, so a long memory cannot push the conversation out.</summary>
    public int MemoryTokens => PromptTokenBudget / 4;

    internal static int? KnownWindow(string model)
    {
        string name = model.Trim().ToLowerInvariant();
        foreach (var (prefix, tokens) in KnownWindows.OrderByDescending(k => k.Prefix.Length))
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return tokens;
            }
        }
        return null;
    }

    internal static void TakeModelName(ModelLimits limits, ModelOptions model) =>
        limits.ModelName = model.Provider == ModelProvider.AzureOpenAi && !string.IsNullOrWhiteSpace(model.AzureDeployment)
            && string.IsNullOrWhiteSpace(model.Model) ? model.AzureDeployment.Trim() : model.ModelName;
}

internal sealed class ModelLimitsValidator : IValidateOptions<ModelLimits>
{
    /// <summary>Below this a system prompt and one short message no longer fit.</summary>
    public const int MinPromptTokenBudget = 500;

    public ValidateOptionsResult Validate(string? name, ModelLimits o)
    {
        var failures = new List<string>();
        if (o.ContextTokens is < 1_000)
        {
            failures.Add($"{SettingNames.ModelContextTokens} must be at least 1000 tokens (the model's context window; leave it unset for {o.ModelName}'s known window).");
        }
        if (o.PromptTokenBudget < MinPromptTokenBudget)
        {
            failures.Add($"{SettingNames.PromptTokenBudget} must be at least {MinPromptTokenBudget} tokens.");
        }
        if (o.MaxOutputTokens < 1)
        {
            failures.Add($"{SettingNames.MaxOutputTokens} must be at least 1 token.");
        }
        if (failures.Count == 0 && o.PromptTokenBudget + o.MaxOutputTokens > o.EffectiveContextTokens)
        {
            failures.Add($"{SettingNames.PromptTokenBudget} ({o.PromptTokenBudget}) + {SettingNames.MaxOutputTokens} ({o.MaxOutputTokens}) is more than " +
                $"{SettingNames.ModelContextTokens} ({o.EffectiveContextTokens}{(o.ContextTokens is null ? $", {o.ModelName}'s window" : "")}): lower one of the first two, or set the model's real window.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// The operator's instructions must leave room for a conversation in the prompt budget; otherwise every request would be
/// refused as too long. Counted only when they could be too long (tokens are never more than UTF-8 bytes), so a normal
/// start does not load the tokenizer here.
/// </summary>
internal sealed class PromptRoomValidator(IOptions<SupportPromptOptions> prompt) : IValidateOptions<ModelLimits>
{
    /// <summary>The least room left for the conversation: a short last message and a turn or two.</summary>
    public const int MinConversationTokens = 200;

    /// <summary>The system prompt's own lines around the instructions: today's date, the memory section's heading and explanation.</summary>
    private const int SystemPromptLines = 80;

    public ValidateOptionsResult Validate(string? name, ModelLimits o)
    {
        string instructions = prompt.Value.EffectiveInstructions;
        int room = o.PromptTokenBudget - SystemPromptLines - o.MemoryTokens - MinConversationTokens;
        if (System.Text.Encoding.UTF8.GetByteCount(instructions) <= room)
        {
            return ValidateOptionsResult.Success;
        }
        int tokens = new ChatTokenCounter(o.ModelName).Count(instructions);
        return tokens <= room
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{SettingNames.SupportInstructions} is {tokens} tokens: with the memories' share ({o.MemoryTokens}) it leaves less than " +
                $"{MinConversationTokens} tokens of {SettingNames.PromptTokenBudget} ({o.PromptTokenBudget}) for the conversation; raise {SettingNames.PromptTokenBudget} or shorten {SettingNames.SupportInstructions}.");
    }
}
