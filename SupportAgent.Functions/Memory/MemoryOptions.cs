using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using SupportAgent.Functions.Configuration;
using Microsoft.Extensions.Options;

namespace SupportAgent.Functions.Memory;

/// <summary>How the chat path uses memory, and where memory writes are queued.</summary>
public sealed partial class MemoryOptions
{
    public const string DefaultQueueName = "memory-writes";

    [ConfigurationKeyName(SettingNames.MemoryQueueName)] public string QueueName { get; set; } = DefaultQueueName;
    [ConfigurationKeyName(SettingNames.MemorySearchTopK)] public int SearchTopK { get; set; } = 5;
    [ConfigurationKeyName(SettingNames.MemorySearchTimeoutMs)] public int SearchTimeoutMs { get; set; } = 1000;

    public TimeSpan SearchTimeout => TimeSpan.FromMilliseconds(SearchTimeoutMs);

    /// <summary>Where the queue trigger moves a message that failed maxDequeueCount times.</summary>
    public string PoisonQueueName => QueueName + "-poison";

    /// <summary>Blob container for exchanges too large for one queue message (claim check).</summary>
    public string PayloadContainerName => QueueName + "-payloads";

    // Queue names: 3-63 lowercase letters, digits and single hyphens; leave room for the "-poison"/"-payloads" suffixes.
    [GeneratedRegex("^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,53}$")]
    internal static partial Regex QueueNamePattern();
}

internal sealed class MemoryOptionsValidator : IValidateOptions<MemoryOptions>
{
    public ValidateOptionsResult Validate(string? name, MemoryOptions o)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(o.QueueName) || !MemoryOptions.QueueNamePattern().IsMatch(o.QueueName))
        {
            failures.Add($"{SettingNames.MemoryQueueName} '{o.QueueName}' is not a valid queue name: 3 to 54 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.");
        }
        if (o.SearchTopK is < 1 or > 100)
        {
            failures.Add($"{SettingNames.MemorySearchTopK} must be between 1 and 100.");
        }
        if (o.SearchTimeoutMs is < 10 or > 60_000)
        {
            failures.Add($"{SettingNames.MemorySearchTimeoutMs} must be between 10 and 60000 milliseconds.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
