namespace SupportAgent.Functions.Identity;

/// <summary>Microsoft Entra ID's tenant and object ids, in the short (tokens) or the long claim-URI form (Easy Auth).</summary>
public static class EntraClaims
{
    private static readonly string[] TenantIdTypes = ["tid", "http://schemas.microsoft.com/identity/claims/tenantid"];
    private static readonly string[] ObjectIdTypes = ["oid", "http://schemas.microsoft.com/identity/claims/objectidentifier"];

    // Hosts that issue Entra ID tokens: public cloud (v2 and v1), US Government, China, and External ID (CIAM) tenants.
    private static readonly string[] IssuerHosts =
        ["login.microsoftonline.com", "sts.windows.net", "login.microsoftonline.us", "login.partner.microsoftonline.cn", "sts.chinacloudapi.cn"];

    public static bool TryGetIds(IEnumerable<KeyValuePair<string, string>> claims, out Guid tenantId, out Guid objectId)
    {
        tenantId = objectId = Guid.Empty;
        string? tid = null, oid = null;
        foreach (var (type, value) in claims)
        {
            if (TenantIdTypes.Contains(type, StringComparer.OrdinalIgnoreCase))
            {
                tid ??= value;
            }
            else if (ObjectIdTypes.Contains(type, StringComparer.OrdinalIgnoreCase))
            {
                oid ??= value;
            }
        }
        return Guid.TryParse(tid, out tenantId) && Guid.TryParse(oid, out objectId) && tenantId != Guid.Empty && objectId != Guid.Empty;
    }

    /// <summary>
    /// Whether a token's issuer is Entra ID for that very tenant. Only then are its tid/oid claims Entra's: another issuer
    /// could carry claims of the same names with any value, and must not map onto an Entra user's memories.
    /// </summary>
    public static bool IsIssuerOf(string? issuer, Guid tenantId)
    {
        if (!Uri.TryCreate(issuer, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            return false;
        }
        string host = uri.Host.ToLowerInvariant();
        bool entraHost = IssuerHosts.Contains(host) || host.EndsWith(".ciamlogin.com", StringComparison.Ordinal);
        string firstSegment = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        return entraHost && Guid.TryParse(firstSegment, out var issuerTenant) && issuerTenant == tenantId;
    }
}
