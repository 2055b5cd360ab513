using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace SupportAgent.Functions.Identity;

/// <summary>
/// Reads the user that App Service Authentication (Easy Auth) or Static Web Apps put in front of the app forwards:
/// <c>X-MS-CLIENT-PRINCIPAL</c> (Base64 JSON) with <c>X-MS-CLIENT-PRINCIPAL-IDP</c> and <c>-ID</c>. The platform strips
/// copies a client sends, so these headers are trusted, but only in <see cref="AuthMode.AppService"/>: nothing strips
/// them anywhere else. Two shapes exist: App Service's <c>{auth_typ, name_typ, role_typ, claims: [{typ, val}]}</c> and
/// Static Web Apps' <c>{identityProvider, userId, userDetails, userRoles}</c>.
/// </summary>
public static class AppServicePrincipal
{
    public const string PrincipalHeader = "X-MS-CLIENT-PRINCIPAL";
    public const string ProviderHeader = "X-MS-CLIENT-PRINCIPAL-IDP";
    public const string IdHeader = "X-MS-CLIENT-PRINCIPAL-ID";

    // A real principal is a few KB; the platform's own header limits are larger, so refuse anything absurd before decoding.
    private const int MaxHeaderLength = 64 * 1024;

    private const string NameIdentifierClaim = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier";

    /// <summary>The signed-in user's id, or why there is none (a reason for the log, free of the header's content).</summary>
    public static (string? UserId, string? Failure, bool Missing) Read(IHeaderDictionary headers)
    {
        if (!headers.TryGetValue(PrincipalHeader, out var values) || values.Count == 0 || string.IsNullOrWhiteSpace(values[0]))
        {
            return (null, "no principal header", true);
        }
        if (values.Count > 1)
        {
            return (null, "principal header sent more than once", false);
        }
        string encoded = values[0]!;
        if (encoded.Length > MaxHeaderLength)
        {
            return (null, "principal header too long", false);
        }

        byte[] json;
        try
        {
            json = Convert.FromBase64String(encoded.Trim());
        }
        catch (FormatException)
        {
            return (null, "principal header is not Base64", false);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException)
        {
            return (null, "principal is not JSON", false);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, "principal is not a JSON object", false);
            }
            return root.TryGetProperty("identityProvider", out _) || root.TryGetProperty("userId", out _)
                ? FromStaticWebApps(root)
                : FromAppService(root, Single(headers, ProviderHeader), Single(headers, IdHeader));
        }
    }

    private static (string?, string?, bool) FromAppService(JsonElement root, string? providerHeader, string? idHeader)
    {
        var claims = new List<KeyValuePair<string, string>>();
        if (root.TryGetProperty("claims", out var claimsElement) && claimsElement.ValueKind == JsonValueKind.Array)
        {
            foreach (var claim in claimsElement.EnumerateArray())
            {
                if (String(claim, "typ") is { } type && String(claim, "val") is { } value)
                {
                    claims.Add(new(type, value));
                }
            }
        }
        if (claims.Count == 0)
        {
            return (null, "principal has no claims", false);
        }

        string? authType = String(root, "auth_typ");
        if (providerHeader is not null && authType is not null && !string.Equals(providerHeader, authType, StringComparison.OrdinalIgnoreCase))
        {
            return (null, "principal provider and header disagree", false);
        }
        string? provider = providerHeader ?? authType;
        if (string.IsNullOrWhiteSpace(provider))
        {
            return (null, "principal names no identity provider", false);
        }

        // Entra ID ("aad"): tenant + object id, the same id a bearer token of that user gives.
        if (string.Equals(provider, "aad", StringComparison.OrdinalIgnoreCase) && EntraClaims.TryGetIds(claims, out var tid, out var oid))
        {
            return (SignedInUserId.ForEntra(tid, oid), null, false);
        }
        string? principalId = idHeader ?? claims.FirstOrDefault(c => c.Key is NameIdentifierClaim or "sub").Value;
        string? userId = principalId is null ? null : SignedInUserId.ForAppService(provider, principalId);
        return userId is null ? (null, "principal has no usable user id", false) : (userId, null, false);
    }

    private static (string?, string?, bool) FromStaticWebApps(JsonElement root)
    {
        string? userId = String(root, "identityProvider") is { } provider && String(root, "userId") is { } id
            ? SignedInUserId.ForStaticWebApps(provider, id)
            : null;
        return userId is null ? (null, "Static Web Apps principal has no provider or user id", false) : (userId, null, false);
    }

    private static string? Single(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var values) && values.Count == 1 && !string.IsNullOrWhiteSpace(values[0]) ? values[0] : null;

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
