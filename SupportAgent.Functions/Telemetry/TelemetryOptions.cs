using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.Functions.Telemetry;

/// <summary>
/// Where traces, metrics and logs go. Tracing itself is always on (spans exist and <c>traceparent</c> reaches Mem0, the
/// model and the queue); an exporter is added only for a destination that is configured. OTEL_SDK_DISABLED=true turns
/// all of it off (the benchmark's baseline).
/// </summary>
public sealed class TelemetryOptions
{
    [ConfigurationKeyName(SettingNames.ApplicationInsightsConnectionString)] public string? ApplicationInsightsConnectionString { get; set; }
    [ConfigurationKeyName(SettingNames.ApplicationInsightsAuthenticationString)] public string? ApplicationInsightsAuthenticationString { get; set; }
    [ConfigurationKeyName(SettingNames.OtlpEndpoint)] public string? OtlpEndpoint { get; set; }
    [ConfigurationKeyName(SettingNames.OtlpProtocol)] public string? OtlpProtocol { get; set; }
    [ConfigurationKeyName(SettingNames.TelemetryDisabled)] public string? Disabled { get; set; }

    public static TelemetryOptions From(IConfiguration configuration)
    {
        var options = new TelemetryOptions();
        configuration.Bind(options);
        return options;
    }

    public bool IsDisabled => bool.TryParse(Disabled?.Trim(), out bool disabled) && disabled;

    /// <summary>A connection string the exporter accepts (it throws at start-up on anything else, so the check comes first).</summary>
    public bool ExportsToAzureMonitor =>
        ApplicationInsightsConnectionString?.Contains("InstrumentationKey=", StringComparison.OrdinalIgnoreCase) == true;

    public bool ExportsToOtlp => OptionsChecks.IsHttpUrl(OtlpEndpoint);

    /// <summary>
    /// APPLICATIONINSIGHTS_AUTHENTICATION_STRING, as the Functions host reads it: <c>Authorization=AAD</c> sends telemetry
    /// with the system-assigned managed identity, <c>Authorization=AAD;ClientId=&lt;id&gt;</c> with a user-assigned one.
    /// Returns false when telemetry is sent with the connection string's key alone (the setting is empty).
    /// </summary>
    public bool TryGetEntraIdentity(out string? clientId)
    {
        clientId = null;
        if (string.IsNullOrWhiteSpace(ApplicationInsightsAuthenticationString))
        {
            return false;
        }
        var parts = ApplicationInsightsAuthenticationString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2, StringSplitOptions.TrimEntries))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.OrdinalIgnoreCase);
        if (!parts.TryGetValue("Authorization", out string? authorization) || !authorization.Equals("AAD", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        clientId = parts.TryGetValue("ClientId", out string? id) && id.Length > 0 ? id : null;
        return true;
    }
}

internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions o)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(o.OtlpEndpoint) && !o.ExportsToOtlp)
        {
            failures.Add($"{SettingNames.OtlpEndpoint} must be an absolute http(s) URL, such as http://localhost:4318 (or empty for no OTLP export).");
        }
        if (!string.IsNullOrWhiteSpace(o.OtlpProtocol) && o.OtlpProtocol.Trim() is not ("grpc" or "http/protobuf"))
        {
            failures.Add($"{SettingNames.OtlpProtocol} must be grpc or http/protobuf.");
        }
        if (!string.IsNullOrWhiteSpace(o.Disabled) && !bool.TryParse(o.Disabled.Trim(), out _))
        {
            failures.Add($"{SettingNames.TelemetryDisabled} must be true or false.");
        }
        if (!string.IsNullOrWhiteSpace(o.ApplicationInsightsAuthenticationString) && !o.TryGetEntraIdentity(out _))
        {
            failures.Add($"{SettingNames.ApplicationInsightsAuthenticationString} must be Authorization=AAD (managed identity) or Authorization=AAD;ClientId=<client id> (a user-assigned identity).");
        }
        if (!string.IsNullOrWhiteSpace(o.ApplicationInsightsConnectionString) && !o.ExportsToAzureMonitor)
        {
            failures.Add($"{SettingNames.ApplicationInsightsConnectionString} is not an Application Insights connection string (it has no InstrumentationKey=); copy it from the resource's Overview page.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
