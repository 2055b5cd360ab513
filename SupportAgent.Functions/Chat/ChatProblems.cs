using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using SupportAgent.Functions.Http;

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
        var (status, title, detail) = ModelFailureText(ex.Failure);
        if (ex.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return ProblemResult.From(new ProblemDetails { Status = status, Title = title, Detail = detail });
    }

    /// <summary>The status and the words a user sees for a model failure; a stream that already began sends the detail in its error event.</summary>
    public static (int Status, string Title, string Detail) ModelFailureText(ModelFailure failure) => failure switch
    {
        ModelFailure.Timeout => (StatusCodes.Status504GatewayTimeout, "The model did not answer in time.",
            "The AI model did not reply in time. Please try again."),
        ModelFailure.Unavailable => (StatusCodes.Status503ServiceUnavailable, "The model is unavailable.",
            "The AI model is unavailable or busy right now. Please try again shortly."),
        _ => (StatusCodes.Status502BadGateway, "The model returned an error.",
            "The AI model could not produce a reply. Please try again; if this keeps happening, the service's model settings need attention."),
    };

    public const string UnexpectedDetail = "The service could not answer this request. Please try again; the error has been logged.";

    public static ObjectResult Unexpected() => ProblemResult.From(new ProblemDetails
    {
        Status = StatusCodes.Status500InternalServerError,
        Title = "Something went wrong.",
        Detail = UnexpectedDetail,
    });
}
