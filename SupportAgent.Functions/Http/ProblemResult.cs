using Microsoft.AspNetCore.Mvc;

namespace SupportAgent.Functions.Http;

/// <summary>RFC 9457 problem responses (application/problem+json), the one error format of every route.</summary>
public static class ProblemResult
{
    public static ObjectResult Create(int status, string title, string detail, string? type = null) =>
        From(new ProblemDetails { Status = status, Title = title, Detail = detail, Type = type });

    /// <summary>A 400 naming the field at fault, in the shape /api/chat's validation problems have.</summary>
    public static ObjectResult InvalidField(string field, string detail, int status = 400, string title = "The request is invalid.", string? type = null)
    {
        var details = new ValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] })
        {
            Status = status,
            Title = title,
            Detail = detail,
            Type = type ?? "https://www.rfc-editor.org/rfc/rfc9110#name-400-bad-request",
        };
        details.Extensions["field"] = field;
        return From(details);
    }

    public static ObjectResult From(ProblemDetails details)
    {
        var result = new ObjectResult(details) { StatusCode = details.Status };
        result.ContentTypes.Add("application/problem+json");
        return result;
    }
}
