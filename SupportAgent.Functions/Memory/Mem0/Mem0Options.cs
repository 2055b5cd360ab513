using Microsoft.Extensions.Configuration;
using SupportAgent.Functions.Configuration;
using Microsoft.Extensions.Options;

namespace SupportAgent.Functions.Memory.Mem0;

/// <summary>The two Mem0 HTTP APIs. They differ in paths, auth header, bodies and response shapes, so each has its own client.</summary>
public enum Mem0Api
{
    /// <summary>The hosted Mem0 Platform (api.mem0.ai): <c>Authorization: Token</c>, v3 add/search/list, v1 deletes.</summary>
    Platform,

    /// <summary>The self-hosted Mem0 REST server: <c>X-API-Key</c>, <c>/memories</c>, <c>/search</c>.</summary>
    Server,

    /// <summary>No Mem0: a development store in the app's own storage account (verbatim user statements, keyword search).</summary>
    Local,
}

public sealed class Mem0Options
{
    public const string DefaultPlatformUrl = "https://api.mem0.ai";

    [ConfigurationKeyName(SettingNames.Mem0Api)] public string? ApiName { get; set; }
    [ConfigurationKeyName(SettingNames.Mem0ApiKey)] public string? ApiKey { get; set; }
    [ConfigurationKeyName(SettingNames.Mem0BaseUrl)] public string? BaseUrl { get; set; }

    public Mem0Api Api => ApiName?.Trim().ToLowerInvariant() switch
    {
        "server" or "selfhosted" or "self-hosted" or "oss" => Mem0Api.Server,
        "local" => Mem0Api.Local,
        _ => Mem0Api.Platform,
    };

    public Uri BaseAddress => OptionsChecks.AsBaseAddress(string.IsNullOrWhiteSpace(BaseUrl) ? DefaultPlatformUrl : BaseUrl);
}

internal sealed class Mem0OptionsValidator : IValidateOptions<Mem0Options>
{
    private static readonly string[] KnownApis = ["platform", "server", "selfhosted", "self-hosted", "oss", "local"];

    public ValidateOptionsResult Validate(string? name, Mem0Options o)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(o.ApiName) && !KnownApis.Contains(o.ApiName.Trim().ToLowerInvariant()))
        {
            failures.Add($"{SettingNames.Mem0Api} is '{o.ApiName}'; use 'platform' (Mem0 Platform, api.mem0.ai), 'server' (the self-hosted Mem0 REST server) or 'local' (no Mem0: a development store in the app's storage account).");
        }
        else if (o.Api == Mem0Api.Platform && string.IsNullOrWhiteSpace(o.ApiKey))
        {
            failures.Add($"{SettingNames.Mem0ApiKey} is not set; the Mem0 Platform needs an API key (app.mem0.ai → API keys).");
        }
        else if (o.Api == Mem0Api.Server && string.IsNullOrWhiteSpace(o.BaseUrl))
        {
            failures.Add($"{SettingNames.Mem0BaseUrl} is not set; with {SettingNames.Mem0Api}=server it must name your Mem0 server, such as http://localhost:8888.");
        }
        if (!string.IsNullOrWhiteSpace(o.BaseUrl) && !OptionsChecks.IsHttpUrl(o.BaseUrl))
        {
            failures.Add($"{SettingNames.Mem0BaseUrl} must be an absolute http(s) URL (the host only, like the official client's 'host'), such as https://api.mem0.ai.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
