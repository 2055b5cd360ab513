using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.Functions.Memory;

/// <summary>Where long-term memories live.</summary>
public enum MemoryStoreKind
{
    /// <summary>In process, in the app's own storage account (Memory/BuiltIn): the default, nothing to sign up for.</summary>
    BuiltIn,

    /// <summary>The hosted Mem0 Platform (api.mem0.ai): <c>Authorization: Token</c>, v3 add/search/list, v1 deletes.</summary>
    Mem0Platform,

    /// <summary>The self-hosted Mem0 REST server: <c>X-API-Key</c>, <c>/memories</c>, <c>/search</c>.</summary>
    Mem0Server,
}

/// <summary>
/// Which memory store the app uses, and Mem0's connection when it is Mem0. <c>MEMORY_STORE</c> names it
/// (builtin, mem0-platform, mem0-server). Without it, the older <c>MEM0_API</c> still works (platform, server, and
/// local, which now means the built-in store), and a real <c>MEM0_API_KEY</c> alone means the Mem0 Platform, as
/// before. With no Mem0 setting at all the built-in store is used. Placeholders ("m0-...") count as not set.
/// </summary>
public sealed class MemoryStoreOptions
{
    public const string DefaultMem0PlatformUrl = "https://api.mem0.ai";

    private static readonly string[] StoreNames = ["builtin", "mem0-platform", "mem0-server"];

    [ConfigurationKeyName(SettingNames.MemoryStore)] public string? StoreName { get; set; }
    [ConfigurationKeyName(SettingNames.Mem0Api)] public string? Mem0ApiName { get; set; }
    [ConfigurationKeyName(SettingNames.Mem0ApiKey)] public string? Mem0ApiKeyValue { get; set; }
    [ConfigurationKeyName(SettingNames.Mem0BaseUrl)] public string? Mem0BaseUrlValue { get; set; }

    /// <summary>The Mem0 key, or null when unset or a placeholder.</summary>
    public string? Mem0ApiKey => SettingValue.OrNull(Mem0ApiKeyValue);

    public string? Mem0BaseUrl => SettingValue.OrNull(Mem0BaseUrlValue);

    public Uri Mem0BaseAddress => OptionsChecks.AsBaseAddress(Mem0BaseUrl ?? DefaultMem0PlatformUrl);

    public MemoryStoreKind Kind => Resolve().Kind;

    /// <summary>Why this store: the setting that chose it, for the one start-up line that names the store.</summary>
    public string Reason => Resolve().Reason;

    internal (MemoryStoreKind Kind, string Reason, string? Problem) Resolve()
    {
        if (SettingValue.OrNull(StoreName) is { } store)
        {
            return store.ToLowerInvariant() switch
            {
                "builtin" or "built-in" => (MemoryStoreKind.BuiltIn, $"{SettingNames.MemoryStore}={store}", null),
                "mem0-platform" => (MemoryStoreKind.Mem0Platform, $"{SettingNames.MemoryStore}={store}", null),
                "mem0-server" => (MemoryStoreKind.Mem0Server, $"{SettingNames.MemoryStore}={store}", null),
                _ => (MemoryStoreKind.BuiltIn, "", $"{SettingNames.MemoryStore} is '{store}'; use {string.Join(", ", StoreNames)} (or leave it unset: the built-in store unless Mem0 is configured)."),
            };
        }
        if (SettingValue.OrNull(Mem0ApiName) is { } api)
        {
            return api.ToLowerInvariant() switch
            {
                "platform" => (MemoryStoreKind.Mem0Platform, $"{SettingNames.Mem0Api}={api}", null),
                "server" or "selfhosted" or "self-hosted" or "oss" => (MemoryStoreKind.Mem0Server, $"{SettingNames.Mem0Api}={api}", null),
                "local" => (MemoryStoreKind.BuiltIn, $"{SettingNames.Mem0Api}={api}", null),
                _ => (MemoryStoreKind.BuiltIn, "", $"{SettingNames.Mem0Api} is '{api}'; use 'platform', 'server' or 'local' (the built-in store), or set {SettingNames.MemoryStore} instead."),
            };
        }
        if (Mem0ApiKey is not null)
        {
            return (MemoryStoreKind.Mem0Platform, $"{SettingNames.Mem0ApiKey} is set", null);
        }
        if (Mem0BaseUrl is { } url && !string.Equals(url.TrimEnd('/'), DefaultMem0PlatformUrl, StringComparison.OrdinalIgnoreCase))
        {
            return (MemoryStoreKind.BuiltIn, "", $"{SettingNames.Mem0BaseUrl} is set but says nothing about which store to use: set {SettingNames.MemoryStore}=mem0-server for a self-hosted Mem0 server (or mem0-platform with {SettingNames.Mem0ApiKey}), or remove it for the built-in store.");
        }
        return (MemoryStoreKind.BuiltIn, "no Mem0 setting", null);
    }
}

internal sealed class MemoryStoreOptionsValidator : IValidateOptions<MemoryStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, MemoryStoreOptions o)
    {
        var failures = new List<string>();
        var (kind, _, problem) = o.Resolve();
        if (problem is not null)
        {
            failures.Add(problem);
        }
        else if (kind == MemoryStoreKind.Mem0Platform && o.Mem0ApiKey is null)
        {
            failures.Add($"{SettingNames.Mem0ApiKey} is not set; the Mem0 Platform needs an API key (app.mem0.ai → API keys). Without Mem0, leave {SettingNames.MemoryStore} unset or set it to builtin.");
        }
        else if (kind == MemoryStoreKind.Mem0Server && o.Mem0BaseUrl is null)
        {
            failures.Add($"{SettingNames.Mem0BaseUrl} is not set; the self-hosted Mem0 server's address is needed, such as http://localhost:8888.");
        }
        if (kind != MemoryStoreKind.BuiltIn && o.Mem0BaseUrl is { } url && !OptionsChecks.IsHttpUrl(url))
        {
            failures.Add($"{SettingNames.Mem0BaseUrl} must be an absolute http(s) URL (the host only, like the official client's 'host'), such as https://api.mem0.ai.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
