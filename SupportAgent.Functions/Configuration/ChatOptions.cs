using Microsoft.Extensions.Configuration;

namespace SupportAgent.Functions.Configuration;

public sealed class ChatOptions
{
    public const string DefaultInstructions =
        "You are a friendly, concise customer-support agent. Help the user with their orders, accounts and questions. " +
        "Use what you know about the user from earlier conversations when it is relevant, and say so briefly " +
        "(for example \"I see you mentioned order #1234 earlier\"). If you do not know something, say so and offer " +
        "the next step; never invent order details, policies or promises.";

    [ConfigurationKeyName(SettingNames.SupportInstructions)] public string? Instructions { get; set; }

    public string EffectiveInstructions => string.IsNullOrWhiteSpace(Instructions) ? DefaultInstructions : Instructions.Trim();
}
