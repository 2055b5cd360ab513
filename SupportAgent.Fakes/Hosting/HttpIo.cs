using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace SupportAgent.Fakes;

/// <summary>Small request/response helpers shared by the fakes (source-generated JSON, no reflection).</summary>
internal static class HttpIo
{
    private const int MaxBodyBytes = 32 * 1024 * 1024;

    public static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength is 0)
        {
            return [];
        }
        using var buffer = context.Request.ContentLength is > 0 and <= MaxBodyBytes
            ? new MemoryStream((int)context.Request.ContentLength.Value)
            : new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }

    /// <summary>Parses a JSON body; null when it is empty or not JSON (the caller answers 400 or 422).</summary>
    public static JsonDocument? TryParse(byte[] body)
    {
        if (body.Length == 0)
        {
            return null;
        }
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static Task WriteJsonAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> typeInfo)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, typeInfo, context.RequestAborted);
    }

    public static Task WriteRawJsonAsync(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(json), context.RequestAborted).AsTask();
    }

    /// <summary>Writes a fault's status, Retry-After and body (or the API's usual error body).</summary>
    public static Task WriteFaultAsync(HttpContext context, FakeFault fault, string defaultBody)
    {
        if (fault.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return WriteRawJsonAsync(context, fault.Status, fault.Body ?? defaultBody);
    }

    public static string? Header(HttpContext context, string name) =>
        context.Request.Headers.TryGetValue(name, out var values) && values.Count > 0 ? values.ToString() : null;

    public static string? StringProperty(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>Escapes a string for hand-built JSON bodies.</summary>
    public static string JsonString(string value) => JsonSerializer.Serialize(value, ControlJson.Relaxed.String);
}
