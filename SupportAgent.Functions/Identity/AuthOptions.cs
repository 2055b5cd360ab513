using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.Functions.Identity;

public enum AuthMode
{
    /// <summary>No sign-in: only /api/chat (function key, user id in the body); the /api/me routes answer 401.</summary>
    None,

    /// <summary>App Service Authentication (Easy Auth) or Static Web Apps in front: the user is the X-MS-CLIENT-PRINCIPAL they forward.</summary>
    AppService,

    /// <summary>Bearer tokens from an OpenID Connect issuer, validated here.</summary>
    Jwt,
}

/// <summary>How the /api/me routes learn who is calling.</summary>
public sealed class AuthOptions
{
    private const string DiscoveryPath = "/.well-known/openid-configuration";

    [ConfigurationKeyName(SettingNames.AuthMode)] public string? ModeName { get; set; }
    [ConfigurationKeyName(SettingNames.AuthJwtAuthority)] public string? JwtAuthority { get; set; }

    /// <summary>One audience or several, comma-separated (Entra ID: <c>api://&lt;client id&gt;</c> and the client id itself).</summary>
    [ConfigurationKeyName(SettingNames.AuthJwtAudience)] public string? JwtAudience { get; set; }

    public AuthMode Mode => ModeName?.Trim().ToLowerInvariant() switch
    {
        "appservice" or "easyauth" => AuthMode.AppService,
        "jwt" => AuthMode.Jwt,
        _ => AuthMode.None,
    };

    public IReadOnlyList<string> Audiences =>
        (JwtAudience ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The issuer's discovery document: the authority + /.well-known/openid-configuration (or the authority, if it already is one).</summary>
    public string MetadataAddress
    {
        get
        {
            string authority = (JwtAuthority ?? "").Trim();
            return authority.EndsWith(DiscoveryPath, StringComparison.OrdinalIgnoreCase) ? authority : authority.TrimEnd('/') + DiscoveryPath;
        }
    }

    /// <summary>Issuer metadata and keys only over https, except from this machine (a local test issuer).</summary>
    public static bool IsAllowedMetadataUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri)));

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}

internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    private static readonly string[] KnownModes = ["none", "appservice", "easyauth", "jwt"];

    public ValidateOptionsResult Validate(string? name, AuthOptions o)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(o.ModeName) && !KnownModes.Contains(o.ModeName.Trim().ToLowerInvariant()))
        {
            failures.Add($"{SettingNames.AuthMode} is '{o.ModeName}'; use 'none' (no sign-in), 'appservice' (behind App Service Authentication or Static Web Apps) or 'jwt' (bearer tokens from {SettingNames.AuthJwtAuthority}).");
            return ValidateOptionsResult.Fail(failures);
        }

        if (o.Mode == AuthMode.Jwt)
        {
            if (string.IsNullOrWhiteSpace(o.JwtAuthority))
            {
                failures.Add($"{SettingNames.AuthJwtAuthority} is not set; with {SettingNames.AuthMode}=jwt it must name the token issuer, such as https://login.microsoftonline.com/<tenant id>/v2.0.");
            }
            else if (!OptionsChecks.IsHttpUrl(o.JwtAuthority))
            {
                failures.Add($"{SettingNames.AuthJwtAuthority} must be an absolute https URL, such as https://login.microsoftonline.com/<tenant id>/v2.0.");
            }
            else if (!AuthOptions.IsAllowedMetadataUrl(o.MetadataAddress))
            {
                failures.Add($"{SettingNames.AuthJwtAuthority} must use https: token signing keys are only fetched over plain http from this machine (a local test issuer).");
            }
            if (o.Audiences.Count == 0)
            {
                failures.Add($"{SettingNames.AuthJwtAudience} is not set; with {SettingNames.AuthMode}=jwt it must name the audience tokens are issued for (Entra ID: api://<client id> of this API's app registration).");
            }
        }
        else if (!string.IsNullOrWhiteSpace(o.JwtAuthority) || !string.IsNullOrWhiteSpace(o.JwtAudience))
        {
            // Refused rather than ignored: an operator who set them believes tokens are being checked.
            failures.Add($"{SettingNames.AuthJwtAuthority} or {SettingNames.AuthJwtAudience} is set but {SettingNames.AuthMode} is '{o.Mode.ToString().ToLowerInvariant()}'; set {SettingNames.AuthMode}=jwt to use them, or remove them.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
