using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace SupportAgent.Fakes;

public sealed record FakeOidcIssuerOptions
{
    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>
    /// The issuer the discovery document and tokens name. Null: the server's own URL. An Entra ID issuer
    /// (https://login.microsoftonline.com/&lt;tid&gt;/v2.0) served from here stands in for Entra ID.
    /// </summary>
    public string? Issuer { get; init; }
}

/// <summary>What a test token says and how it is signed. Defaults make a valid token for <see cref="FakeOidcIssuer.DefaultAudience"/>.</summary>
public sealed record TokenSpec
{
    public string? Subject { get; init; } = "user-1";
    public string? Audience { get; init; } = FakeOidcIssuer.DefaultAudience;

    /// <summary>Null: the issuer's own.</summary>
    public string? Issuer { get; init; }
    public TimeSpan ExpiresIn { get; init; } = TimeSpan.FromMinutes(30);
    public TimeSpan NotBeforeIn { get; init; } = TimeSpan.Zero;
    public bool WithoutExpiry { get; init; }
    public IReadOnlyDictionary<string, string> Claims { get; init; } = new Dictionary<string, string>();

    /// <summary>"RS256" (default) or "none" (unsigned, empty signature).</summary>
    public string Algorithm { get; init; } = "RS256";

    /// <summary>Sign with this key instead of the issuer's (a key the issuer never published).</summary>
    public RSA? SigningKey { get; init; }

    /// <summary>The kid header; null: the signing key's own.</summary>
    public string? KeyId { get; init; }
}

/// <summary>
/// A local OpenID Connect issuer for tests: OIDC discovery (<c>/.well-known/openid-configuration</c>), a JWKS
/// (<c>/keys</c>, RSA keys as n/e) and RS256 JWTs signed by hand (header.payload.signature, Base64url), so the app's
/// validation is checked against the real formats rather than against the library that validates them.
/// </summary>
public sealed class FakeOidcIssuer(FakeOidcIssuerOptions? options = null) : FakeHttpServer((options ?? new()).Port)
{
    public const string DefaultAudience = "api://support-agent-tests";

    private readonly FakeOidcIssuerOptions _options = options ?? new();
    private readonly ConcurrentDictionary<string, RSA> _published = new();
    private volatile string _currentKeyId = "";
    private int _discoveryRequests;
    private int _keyRequests;

    public static async Task<FakeOidcIssuer> StartNewAsync(FakeOidcIssuerOptions? options = null)
    {
        var issuer = new FakeOidcIssuer(options);
        issuer.RotateKey();
        await issuer.StartAsync();
        return issuer;
    }

    /// <summary>What tokens name as their issuer (and the discovery document as "issuer").</summary>
    public string Issuer => _options.Issuer ?? BaseUrl;

    /// <summary>The value for AUTH_JWT_AUTHORITY: discovery is at this URL + /.well-known/openid-configuration.</summary>
    public string Authority => BaseUrl;

    public int DiscoveryRequests => Volatile.Read(ref _discoveryRequests);

    public int KeyRequests => Volatile.Read(ref _keyRequests);

    /// <summary>Publishes a new signing key and signs new tokens with it (the old keys stay published).</summary>
    public string RotateKey()
    {
        string kid = "key-" + Guid.NewGuid().ToString("N")[..8];
        _published[kid] = RSA.Create(2048);
        _currentKeyId = kid;
        return kid;
    }

    public string CreateToken(TokenSpec? spec = null)
    {
        spec ??= new TokenSpec();
        var now = DateTimeOffset.UtcNow;
        var payload = new JsonObject
        {
            ["iss"] = spec.Issuer ?? Issuer,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = (now + spec.NotBeforeIn).ToUnixTimeSeconds(),
        };
        if (spec.Subject is not null)
        {
            payload["sub"] = spec.Subject;
        }
        if (spec.Audience is not null)
        {
            payload["aud"] = spec.Audience;
        }
        if (!spec.WithoutExpiry)
        {
            payload["exp"] = (now + spec.ExpiresIn).ToUnixTimeSeconds();
        }
        foreach (var (type, value) in spec.Claims)
        {
            payload[type] = value;
        }

        var header = new JsonObject { ["alg"] = spec.Algorithm, ["typ"] = "JWT" };
        if (spec.Algorithm == "none")
        {
            return $"{Encode(header)}.{Encode(payload)}.";
        }
        string kid = spec.KeyId ?? (spec.SigningKey is null ? _currentKeyId : "foreign-" + Guid.NewGuid().ToString("N")[..8]);
        header["kid"] = kid;
        var key = spec.SigningKey ?? _published[_currentKeyId];
        string signingInput = $"{Encode(header)}.{Encode(payload)}";
        byte[] signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    protected override void MapRoutes(WebApplication app)
    {
        app.MapGet("/.well-known/openid-configuration", context =>
        {
            Interlocked.Increment(ref _discoveryRequests);
            var document = new JsonObject
            {
                ["issuer"] = Issuer,
                ["jwks_uri"] = BaseUrl + "/keys",
                ["authorization_endpoint"] = BaseUrl + "/authorize",
                ["token_endpoint"] = BaseUrl + "/token",
                ["response_types_supported"] = new JsonArray("code"),
                ["subject_types_supported"] = new JsonArray("public"),
                ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
            };
            return HttpIo.WriteRawJsonAsync(context, 200, document.ToJsonString());
        });
        app.MapGet("/keys", context =>
        {
            Interlocked.Increment(ref _keyRequests);
            var keys = new JsonArray();
            foreach (var (kid, rsa) in _published)
            {
                var parameters = rsa.ExportParameters(includePrivateParameters: false);
                keys.Add(new JsonObject
                {
                    ["kty"] = "RSA",
                    ["use"] = "sig",
                    ["alg"] = "RS256",
                    ["kid"] = kid,
                    ["n"] = Base64Url(parameters.Modulus!),
                    ["e"] = Base64Url(parameters.Exponent!),
                });
            }
            return HttpIo.WriteRawJsonAsync(context, 200, new JsonObject { ["keys"] = keys }.ToJsonString());
        });
    }

    private static string Encode(JsonObject json) => Base64Url(Encoding.UTF8.GetBytes(json.ToJsonString()));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
