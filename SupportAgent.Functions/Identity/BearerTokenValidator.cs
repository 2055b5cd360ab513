using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace SupportAgent.Functions.Identity;

/// <summary>How a bearer token check ended.</summary>
public enum TokenCheck
{
    Valid,

    /// <summary>Not a token of this issuer for this API: 401.</summary>
    Invalid,

    /// <summary>The issuer's metadata or keys could not be fetched, so no token can be checked: 503.</summary>
    IssuerUnavailable,
}

/// <summary>
/// Validates <c>Authorization: Bearer</c> tokens (AUTH_MODE=jwt) with Microsoft.IdentityModel: signature (RS256) with a
/// key from the issuer's JWKS, issuer, audience, expiry and not-before. The issuer's discovery document and keys are
/// cached by a <see cref="ConfigurationManager{T}"/>; a token signed with a key it does not know yet (the issuer rotated
/// its keys) makes it fetch them again, at most once a minute, and the token is checked once more.
/// </summary>
public sealed partial class BearerTokenValidator
{
    public const string MetadataHttpClient = "oidc-metadata";

    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(2);

    private readonly ConfigurationManager<OpenIdConnectConfiguration> _metadata;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly IReadOnlyList<string> _audiences;
    private readonly ILogger<BearerTokenValidator> _logger;

    static BearerTokenValidator()
    {
        // By default, once keys are cached, a refresh runs in the background and the request that asked for it is
        // checked against the old keys, so the first token signed with a rotated-in key would be refused. Blocking
        // refreshes are limited by RefreshInterval below, so they cannot pile up.
        AppContext.SetSwitch("Switch.Microsoft.IdentityModel.UpdateConfigAsBlocking", true);
    }

    public BearerTokenValidator(IOptions<AuthOptions> options, IHttpClientFactory httpClientFactory, ILogger<BearerTokenValidator> logger)
    {
        _audiences = options.Value.Audiences;
        _logger = logger;

        _metadata = new ConfigurationManager<OpenIdConnectConfiguration>(
            options.Value.MetadataAddress,
            new OpenIdConnectConfigurationRetriever(),
            new MetadataRetriever(httpClientFactory.CreateClient(MetadataHttpClient)))
        {
            // How soon an unknown key may trigger another fetch: rotation is picked up quickly, and a flood of tokens
            // with made-up key ids cannot make us hammer the issuer.
            RefreshInterval = TimeSpan.FromMinutes(1),
        };
    }

    public async Task<(TokenCheck Check, string? UserId, string Reason)> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await _metadata.GetConfigurationAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogMetadataFailed(_logger, ex.GetType().Name);
            return (TokenCheck.IssuerUnavailable, null, "issuer metadata unavailable");
        }

        var result = await _handler.ValidateTokenAsync(token, Parameters(configuration));
        if (!result.IsValid && result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            _metadata.RequestRefresh();
            try
            {
                configuration = await _metadata.GetConfigurationAsync(cancellationToken);
                result = await _handler.ValidateTokenAsync(token, Parameters(configuration));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogMetadataFailed(_logger, ex.GetType().Name);
            }
        }
        if (!result.IsValid)
        {
            return (TokenCheck.Invalid, null, Describe(result.Exception));
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        var claims = jwt.Claims.Select(c => new KeyValuePair<string, string>(c.Type, c.Value));
        if (EntraClaims.TryGetIds(claims, out var tid, out var oid) && EntraClaims.IsIssuerOf(jwt.Issuer, tid))
        {
            return (TokenCheck.Valid, SignedInUserId.ForEntra(tid, oid), "entra");
        }
        string? userId = string.IsNullOrEmpty(jwt.Subject) ? null : SignedInUserId.ForIssuer(jwt.Issuer, jwt.Subject);
        return userId is null ? (TokenCheck.Invalid, null, "no usable subject") : (TokenCheck.Valid, userId, "issuer+sub");
    }

    private TokenValidationParameters Parameters(OpenIdConnectConfiguration configuration) => new()
    {
        ValidIssuer = configuration.Issuer,
        ValidAudiences = _audiences,
        IssuerSigningKeys = configuration.SigningKeys,
        ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidateLifetime = true,
        ValidateIssuerSigningKey = true,
        ClockSkew = ClockSkew,
    };

    /// <summary>A short reason for the log and the client; never the token or its claims.</summary>
    private static string Describe(Exception? ex) => ex switch
    {
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not yet valid",
        SecurityTokenNoExpirationException => "token has no expiry",
        SecurityTokenInvalidAudienceException => "wrong audience",
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenInvalidAlgorithmException => "algorithm not accepted",
        SecurityTokenSignatureKeyNotFoundException => "signing key not from the issuer",
        SecurityTokenInvalidSignatureException => "signature not valid",
        SecurityTokenMalformedException or ArgumentException => "not a JWT",
        null => "token not valid",
        _ => "token not valid",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Sign-in: the token issuer's metadata or keys could not be fetched ({Error}); bearer tokens cannot be checked")]
    private static partial void LogMetadataFailed(ILogger logger, string error);

    /// <summary>Fetches issuer documents over https, or over http only from a loopback address (a local test issuer).</summary>
    private sealed class MetadataRetriever(HttpClient http) : IDocumentRetriever
    {
        private readonly HttpDocumentRetriever _inner = new(http) { RequireHttps = false };

        public Task<string> GetDocumentAsync(string address, CancellationToken cancel) =>
            AuthOptions.IsAllowedMetadataUrl(address)
                ? _inner.GetDocumentAsync(address, cancel)
                : throw new IOException("Issuer documents are fetched over https only (plain http only from a loopback address).");
    }
}
