using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace SupportAgent.Functions.Chat;

/// <summary>RFC 9457 problem responses (application/problem+json) for everything /api/chat refuses or cannot do.</summary>
public static class ChatProblems
{
    public static ObjectResult Input(ChatInputProblem problem)
    {
        var details = new ValidationProblemDetails(new Dictionary<string, string[]> { [problem.Field] = [problem.Detail] })
        {
            Status = problem.Status,
            Title = problem.Status == StatusCodes.Status413PayloadTooLarge ? "The request body is too large." : "The request is invalid.",
            Detail = problem.Detail,
            Type = problem.Status == StatusCodes.Status413PayloadTooLarge
                ? "https://www.rfc-editor.org/rfc/rfc9110#name-413-content-too-large"
                : "https://www.rfc-editor.org/rfc/rfc9110#name-400-bad-request",
        };
        details.Extensions["field"] = problem.Field;
        return Result(details);
    }

    public static ObjectResult Model(ModelException ex, HttpResponse response)
    {
        var (status, title, detail) = ModelFailureText(ex.Failure);
        if (ex.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return Result(new ProblemDetails { Status = status, Title = title, Detail = detail });
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

    public static ObjectResult Unexpected() => Result(new ProblemDetails
    {
        Status = StatusCodes.Status500InternalServerError,
        Title = "Something went wrong.",
        Detail = UnexpectedDetail,
    });

    private static ObjectResult Result(ProblemDetails details)
    {
        var result = new ObjectResult(details) { StatusCode = details.Status };
        result.ContentTypes.Add("application/problem+json");
        return result;
    }
}
