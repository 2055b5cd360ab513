using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace SupportAgent.Functions.Tests.Support;

/// <summary>How a test request proves who it is: Easy Auth's forwarded principal headers, or a bearer token.</summary>
public sealed record SignIn(IReadOnlyDictionary<string, string> Headers, string? BearerToken = null)
{
    public void Apply(HttpRequestMessage request)
    {
        foreach (var (name, value) in Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (BearerToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BearerToken);
        }
    }

    public static SignIn Bearer(string token) => new(new Dictionary<string, string>(), token);

    /// <summary>What App Service Authentication forwards for an Entra ID user (claims in their long URI form, as Easy Auth sends them).</summary>
    public static SignIn EasyAuthEntra(Guid tenantId, Guid objectId, string name = "someone@example.com") => EasyAuth("aad", objectId.ToString(),
        new Dictionary<string, string>
        {
            ["http://schemas.microsoft.com/identity/claims/tenantid"] = tenantId.ToString(),
            ["http://schemas.microsoft.com/identity/claims/objectidentifier"] = objectId.ToString(),
            ["name"] = name,
        });

    public static SignIn EasyAuth(string provider, string principalId, IReadOnlyDictionary<string, string> claims)
    {
        var principal = new
        {
            auth_typ = provider,
            name_typ = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            role_typ = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
            claims = claims.Select(c => new { typ = c.Key, val = c.Value }),
        };
        return RawPrincipal(Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(principal)), provider, principalId);
    }

    /// <summary>Any X-MS-CLIENT-PRINCIPAL value, with the -IDP and -ID headers when given.</summary>
    public static SignIn RawPrincipal(string principalHeader, string? provider = null, string? principalId = null)
    {
        var headers = new Dictionary<string, string> { ["X-MS-CLIENT-PRINCIPAL"] = principalHeader };
        if (provider is not null)
        {
            headers["X-MS-CLIENT-PRINCIPAL-IDP"] = provider;
        }
        if (principalId is not null)
        {
            headers["X-MS-CLIENT-PRINCIPAL-ID"] = principalId;
        }
        return new SignIn(headers);
    }

    public static string Base64Json(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
}
