using System.Security.Cryptography;
using System.Text;

namespace SupportAgent.Functions.Identity;

/// <summary>
/// The memory user id of a signed-in user. Every such id starts with <see cref="Prefix"/>, which /api/chat refuses in a
/// body userId, so a backend can never name a signed-in user's memories and a signed-in user never lands on a backend's
/// user. After the prefix, the kind of identity keeps namespaces apart, and each part is percent-escaped, so no value can
/// forge a separator:
/// <list type="bullet">
/// <item><c>idp:entra:&lt;tid&gt;:&lt;oid&gt;</c>: Microsoft Entra ID tenant + object id, the same through Easy Auth and bearer tokens.</item>
/// <item><c>idp:oidc:&lt;issuer hash&gt;:&lt;sub&gt;</c>: any other OpenID Connect issuer (OIDC Core 5.7: iss + sub is the stable key).</item>
/// <item><c>idp:appservice:&lt;provider&gt;:&lt;principal id&gt;</c>: another Easy Auth provider (GitHub, Google, ...).</item>
/// <item><c>idp:swa:&lt;provider&gt;:&lt;user id&gt;</c>: the principal Static Web Apps forwards (its user ids are per app).</item>
/// </list>
/// </summary>
public static class SignedInUserId
{
    public const string Prefix = "idp:";

    /// <summary>OIDC Core: "sub" is at most 255 ASCII characters; longer identifiers are refused rather than cut.</summary>
    public const int MaxPartLength = 255;

    /// <summary>Longest id this class makes: two parts of 255 characters, each escaped to at most three times its length.</summary>
    public const int MaxLength = 1600;

    /// <summary>Whether a user id is in the signed-in users' namespace (case-insensitively, so "IDP:" cannot slip past).</summary>
    public static bool IsReserved(string userId) => userId.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    public static string ForEntra(Guid tenantId, Guid objectId) => $"{Prefix}entra:{tenantId:D}:{objectId:D}";

    /// <summary>The issuer is hashed: issuer URLs are long and full of '/', which a route segment cannot carry.</summary>
    public static string? ForIssuer(string issuer, string subject) =>
        Usable(subject) ? $"{Prefix}oidc:{Hash(issuer)}:{Escape(subject)}" : null;

    public static string? ForAppService(string provider, string principalId) =>
        Usable(provider) && Usable(principalId) ? $"{Prefix}appservice:{Escape(provider.ToLowerInvariant())}:{Escape(principalId)}" : null;

    public static string? ForStaticWebApps(string provider, string userId) =>
        Usable(provider) && Usable(userId) ? $"{Prefix}swa:{Escape(provider.ToLowerInvariant())}:{Escape(userId)}" : null;

    private static bool Usable(string value) => !string.IsNullOrWhiteSpace(value) && value.Length <= MaxPartLength;

    /// <summary>Everything but A-Z a-z 0-9 - . _ ~ is escaped, ':' and '%' included: the escaping is one-to-one.</summary>
    private static string Escape(string value) => Uri.EscapeDataString(value);

    private static string Hash(string issuer) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(issuer)).AsSpan(0, 16));
}
