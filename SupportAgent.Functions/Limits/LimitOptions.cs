using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.Functions.Limits;

/// <summary>What one user may spend: chat requests per minute and model tokens per UTC day (0 turns either off).</summary>
public sealed class LimitOptions
{
    /// <summary>Enough for a person typing fast (a message every 3 s), far too few for a script (docs/limits.md).</summary>
    public const int DefaultRequestsPerMinute = 20;

    [ConfigurationKeyName(SettingNames.UserRequestsPerMinute)] public int RequestsPerMinute { get; set; } = DefaultRequestsPerMinute;

    [ConfigurationKeyName(SettingNames.UserTokensPerDay)] public long TokensPerDay { get; set; }

    /// <summary>Off when both are 0: then nothing is read or written for limits.</summary>
    public bool Enabled => RequestsPerMinute > 0 || TokensPerDay > 0;
}

internal sealed class LimitOptionsValidator : IValidateOptions<LimitOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitOptions o)
    {
        var failures = new List<string>();
        if (o.RequestsPerMinute is < 0 or > 100_000)
        {
            failures.Add($"{SettingNames.UserRequestsPerMinute} must be between 0 (no limit) and 100000 requests per minute.");
        }
        if (o.TokensPerDay is < 0 or > 1_000_000_000_000)
        {
            failures.Add($"{SettingNames.UserTokensPerDay} must be between 0 (no quota) and 1000000000000 tokens per day.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
