using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Http;

namespace SupportAgent.Functions.Identity;

/// <summary>Who called a /api/me route: the user's memory id, or the problem response that refuses the call.</summary>
public sealed record SignedInCaller(string? UserId, IActionResult? Refusal)
{
    public bool IsSignedIn => UserId is not null;
}

/// <summary>
/// The one place that decides who the signed-in caller is, for every /api/me function on both hosts (the Functions
/// worker and the self host run the same function classes, and each function asks this service first). The isolated
/// worker does not fill HttpContext.User from Easy Auth headers, and a worker middleware would not run in the self host,
/// so identity is a service the functions call rather than a pipeline step. Only the configured mode's evidence counts:
/// Easy Auth headers are ignored unless AUTH_MODE=appservice, bearer tokens unless AUTH_MODE=jwt.
/// </summary>
public sealed partial class SignedInUsers(IOptions<AuthOptions> options, IServiceProvider services, ILogger<SignedInUsers> logger)
{
    private readonly AuthMode _mode = options.Value.Mode;

    /// <summary>Runs <paramref name="action"/> for the signed-in caller's user id, or answers with the refusal.</summary>
    public async Task<IActionResult> AsSignedInUserAsync(HttpRequest request, Func<string, Task<IActionResult>> action, CancellationToken cancellationToken)
    {
        var caller = await IdentifyAsync(request, cancellationToken);
        return caller.IsSignedIn ? await action(caller.UserId!) : caller.Refusal!;
    }

    public async Task<SignedInCaller> IdentifyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        switch (_mode)
        {
            case AuthMode.AppService:
            {
                var (userId, failure, missing) = AppServicePrincipal.Read(request.Headers);
                return userId is not null ? SignedIn(userId, "appservice") : Refuse(missing ? NotSignedIn() : InvalidPrincipal(), failure!);
            }
            case AuthMode.Jwt:
                return await FromBearerTokenAsync(request, cancellationToken);
            default:
                return Refuse(NotConfigured(), "sign-in not configured");
        }
    }

    private async Task<SignedInCaller> FromBearerTokenAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        string? header = request.Headers.Authorization.Count == 1 ? request.Headers.Authorization[0] : null;
        if (header is null || !AuthenticationHeaderValue.TryParse(header, out var value)
            || !string.Equals(value.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) || string.IsNullOrWhiteSpace(value.Parameter))
        {
            request.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return Refuse(NotSignedIn(), request.Headers.Authorization.Count == 0 ? "no bearer token" : "authorization header is not one bearer token");
        }

        var validator = services.GetRequiredService<BearerTokenValidator>();
        var (check, userId, reason) = await validator.ValidateAsync(value.Parameter.Trim(), cancellationToken);
        switch (check)
        {
            case TokenCheck.Valid:
                return SignedIn(userId!, reason);
            case TokenCheck.IssuerUnavailable:
                return Refuse(ProblemResult.Create(StatusCodes.Status503ServiceUnavailable, "Sign-in cannot be checked right now.",
                    "The service could not reach the token issuer to check the sign-in. Please try again shortly."), reason);
            default:
                // RFC 6750: the challenge says the token was refused; the reason is a fixed phrase, never token content.
                request.HttpContext.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{reason}\"";
                return Refuse(ProblemResult.Create(StatusCodes.Status401Unauthorized, "The sign-in is not valid.",
                    $"The bearer token was refused ({reason}). Sign in again and retry with a new token."), reason);
        }
    }

    private SignedInCaller SignedIn(string userId, string how)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            LogSignedIn(logger, UserRef.For(userId), how);
        }
        return new SignedInCaller(userId, null);
    }

    private SignedInCaller Refuse(IActionResult refusal, string reason)
    {
        LogRefused(logger, _mode.ToString(), reason);
        return new SignedInCaller(null, refusal);
    }

    private static ObjectResult NotConfigured() => ProblemResult.Create(StatusCodes.Status401Unauthorized, "Sign-in is not configured.",
        "This service has no sign-in configured (AUTH_MODE=none), so the /api/me routes cannot know who you are. The operator can enable it with AUTH_MODE=appservice or AUTH_MODE=jwt.");

    private static ObjectResult NotSignedIn() => ProblemResult.Create(StatusCodes.Status401Unauthorized, "Sign-in required.",
        "Sign in to use this route.");

    private static ObjectResult InvalidPrincipal() => ProblemResult.Create(StatusCodes.Status401Unauthorized, "The sign-in is not valid.",
        "The signed-in user forwarded by the platform could not be read. Sign in again.");

    [LoggerMessage(Level = LogLevel.Debug, Message = "Signed-in caller {UserRef} ({How})")]
    private static partial void LogSignedIn(ILogger logger, string userRef, string how);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sign-in refused ({Mode}): {Reason}")]
    private static partial void LogRefused(ILogger logger, string mode, string reason);
}
