using Microsoft.Extensions.Configuration;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.Functions.Chat;

public sealed class SupportPromptOptions
{
    public const string DefaultInstructions =
        "You are a friendly, concise customer-support agent. Help the user with their orders, accounts and questions. " +
        "Use what you know about the user from earlier conversations when it is relevant, and say briefly that you " +
        "remember it, so the user does not have to repeat themselves. If you do not know something, say so and offer " +
        "the next step; never invent order details, policies or promises.";

    [ConfigurationKeyName(SettingNames.SupportInstructions)] public string? Instructions { get; set; }

    public string EffectiveInstructions => string.IsNullOrWhiteSpace(Instructions) ? DefaultInstructions : Instructions.Trim();
}
