using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using SupportAgent.Functions.Http;
using SupportAgent.Functions.Limits;

namespace SupportAgent.Functions.Chat;

/// <summary>RFC 9457 problem responses (application/problem+json) for everything /api/chat refuses or cannot do.</summary>
public static class ChatProblems
{
    public static ObjectResult Input(ChatInputProblem problem) => problem.Status switch
    {
        StatusCodes.Status413PayloadTooLarge => ProblemResult.InvalidField(problem.Field, problem.Detail, problem.Status,
            "The request body is too large.", "https://www.rfc-editor.org/rfc/rfc9110#name-413-content-too-large"),
        StatusCodes.Status415UnsupportedMediaType => ProblemResult.InvalidField(problem.Field, problem.Detail, problem.Status,
            "The request body must be JSON.", "https://www.rfc-editor.org/rfc/rfc9110#name-415-unsupported-media-type"),
        _ => ProblemResult.InvalidField(problem.Field, problem.Detail),
    };

    public static ObjectResult Model(ModelException ex, HttpResponse response)
    {
        if (ex.Failure == ModelFailure.ContextWindow)
        {
            return ContextWindow(ex.ContextWindow);
        }
        var (status, title, detail) = ModelFailureText(ex.Failure);
        if (ex.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return ProblemResult.From(new ProblemDetails { Status = status, Title = title, Detail = detail });
    }

    /// <summary>
    /// 429 for a per-user limit, with Retry-After and a detail that says when to try again; <c>reason</c> (rate or quota)
    /// and <c>retryAfterSeconds</c> are there for a client that wants to show a countdown.
    /// </summary>
    public static ObjectResult Limited(LimitExceededException ex, HttpResponse response)
    {
        int seconds = ex.RetryAfterSeconds;
        response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string detail = ex.Reason == LimitReasons.Quota
            ? $"You have used today's allowance of {ex.Limit:N0} tokens. You can chat again after midnight UTC, in {Wait(seconds)}."
            : $"You have sent {ex.Limit} messages in this minute, the most allowed. Please wait {Wait(seconds)} before sending another.";
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status429TooManyRequests,
            Title = ex.Reason == LimitReasons.Quota ? "Daily usage limit reached." : "Too many messages.",
            Detail = detail,
            Type = "https://www.rfc-editor.org/rfc/rfc6585#section-4",
        };
        problem.Extensions["reason"] = ex.Reason;
        problem.Extensions["retryAfterSeconds"] = seconds;
        return ProblemResult.From(problem);
    }

    private static string Wait(int seconds) => seconds switch
    {
        1 => "1 second",
        < 120 => $"{seconds} seconds",
        < 7200 => $"{(seconds + 59) / 60} minutes",
        _ => $"{seconds / 3600} hours {(seconds % 3600 + 59) / 60} minutes",
    };

    /// <summary>The status and the words a user sees for a model failure; a stream that already began sends the detail in its error event.</summary>
    public static (int Status, string Title, string Detail) ModelFailureText(ModelFailure failure) => failure switch
    {
        ModelFailure.Timeout => (StatusCodes.Status504GatewayTimeout, "The model did not answer in time.",
            "The AI model did not reply in time. Please try again."),
        ModelFailure.Unavailable => (StatusCodes.Status503ServiceUnavailable, "The model is unavailable.",
            "The AI model is unavailable or busy right now. Please try again shortly."),
        ModelFailure.ContextWindow => (StatusCodes.Status400BadRequest, "The prompt is longer than the model's context window.",
            "The conversation did not fit the AI model's context window; the service's MODEL_CONTEXT_TOKENS setting needs attention."),
        _ => (StatusCodes.Status502BadGateway, "The model returned an error.",
            "The AI model could not produce a reply. Please try again; if this keeps happening, the service's model settings need attention."),
    };

    /// <summary>
    /// The model refused a prompt the budget let through: the service's settings do not match the model (its window is
    /// smaller than MODEL_CONTEXT_TOKENS says). A 400 the operator can act on, naming the setting, not a generic 502.
    /// </summary>
    public static ObjectResult ContextWindow(ContextWindowError? error)
    {
        string window = error?.ModelWindow is { } n ? $" (the model says its window is {n} tokens)" : "";
        return ProblemResult.InvalidField(Configuration.SettingNames.ModelContextTokens,
            $"The conversation did not fit the model's context window{window}. The service's {Configuration.SettingNames.ModelContextTokens} " +
            $"is larger than the model's real window: set it to the model's window, with {Configuration.SettingNames.PromptTokenBudget} + " +
            $"{Configuration.SettingNames.MaxOutputTokens} within it.",
            title: "The prompt is longer than the model's context window.");
    }

    public const string UnexpectedDetail = "The service could not answer this request. Please try again; the error has been logged.";

    public static ObjectResult Unexpected() => ProblemResult.From(new ProblemDetails
    {
        Status = StatusCodes.Status500InternalServerError,
        Title = "Something went wrong.",
        Detail = UnexpectedDetail,
    });
}
