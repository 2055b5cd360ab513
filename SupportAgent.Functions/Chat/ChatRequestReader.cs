using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Chat;

/// <summary>A request the service refuses, with the HTTP status and the field at fault.</summary>
public sealed record ChatInputProblem(int Status, string Field, string Detail);

/// <summary>
/// Reads and validates the chat request body. Every rule exists because something downstream depends on it:
/// the user id scopes Mem0 (where "*" means every user), roles decide what reaches the model (no client "system"
/// turns), and the size limits keep one exchange within what the queue and the model accept.
/// </summary>
public static class ChatRequestReader
{
    public const int MaxUserIdLength = MemoryUserId.MaxLength;
    public const int MaxMessages = 100;
    public const int MaxContentLength = 16_000;

    /// <summary>
    /// Largest body accepted: room for 100 messages of 16,000 characters even when every character is sent as a
    /// six-byte JSON escape (\uXXXX), so no input that passes validation can be refused for its encoding.
    /// </summary>
    public const int MaxBodyBytes = 10 * 1024 * 1024;

    /// <summary>
    /// Reads a request. With <paramref name="signedInUserId"/> (POST /api/me/chat) the user is the signed-in one and a
    /// userId in the body is ignored, whatever it holds: it can never select another user's memories.
    /// </summary>
    public static async Task<(ChatRequest? Request, ChatInputProblem? Problem)> ReadAsync(HttpRequest request, string? signedInUserId, CancellationToken cancellationToken)
    {
        if (!IsJson(request.ContentType))
        {
            return (null, new ChatInputProblem(StatusCodes.Status415UnsupportedMediaType, "Content-Type",
                $"The request body must be JSON, sent with Content-Type: application/json (this request says {Shorten(request.ContentType!)})."));
        }
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, TooLarge());
        }

        ReadOnlyMemory<byte>? body = await ReadBodyAsync(request.Body, cancellationToken);
        if (body is null)
        {
            return (null, TooLarge());
        }
        return Parse(body.Value, signedInUserId);
    }

    public static (ChatRequest? Request, ChatInputProblem? Problem) Parse(ReadOnlyMemory<byte> body, string? signedInUserId = null)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException)
        {
            return (null, Invalid("body", "The request body must be a JSON object: {\"userId\": \"...\", \"messages\": [{\"role\": \"user\", \"content\": \"...\"}]}."));
        }

        using (document)
        {
            return Validate(document.RootElement, signedInUserId);
        }
    }

    private static (ChatRequest?, ChatInputProblem?) Validate(JsonElement root, string? signedInUserId)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, Invalid("body", signedInUserId is null
                ? "The request body must be a JSON object with userId and messages."
                : "The request body must be a JSON object with messages."));
        }

        string userId;
        if (signedInUserId is not null)
        {
            userId = signedInUserId;
        }
        else
        {
            if (!root.TryGetProperty("userId", out var userIdElement) || userIdElement.ValueKind == JsonValueKind.Null)
            {
                return (null, Invalid("userId", "userId is required."));
            }
            if (userIdElement.ValueKind != JsonValueKind.String)
            {
                return (null, Invalid("userId", "userId must be a string."));
            }
            userId = userIdElement.GetString()!;
            if (MemoryUserId.Problem(userId) is { } problem)
            {
                return (null, Invalid("userId", problem));
            }
            if (SignedInUserId.IsReserved(userId))
            {
                // Signed-in users' ids live in their own namespace: a backend must not be able to name one.
                return (null, Invalid("userId", $"userId must not start with \"{SignedInUserId.Prefix}\": that prefix is reserved for signed-in users (POST /api/me/chat)."));
            }
        }

        if (!root.TryGetProperty("messages", out var messagesElement) || messagesElement.ValueKind == JsonValueKind.Null)
        {
            return (null, Invalid("messages", "messages is required."));
        }
        if (messagesElement.ValueKind != JsonValueKind.Array)
        {
            return (null, Invalid("messages", "messages must be an array."));
        }
        int count = messagesElement.GetArrayLength();
        if (count == 0)
        {
            return (null, Invalid("messages", "messages must not be empty."));
        }
        if (count > MaxMessages)
        {
            return (null, Invalid("messages", $"messages must have at most {MaxMessages} items; send only the recent conversation."));
        }

        // The Vercel AI SDK's useChat sends {id, messages: [{id, role, parts: [{type: "text", text}]}], trigger}.
        foreach (string name in (ReadOnlySpan<string>)["id", "trigger"])
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return (null, Invalid(name, $"{name} must be a string."));
            }
        }
        bool uiMessages = root.TryGetProperty("trigger", out _);

        var turns = new ChatTurn[count];
        int i = 0;
        foreach (var item in messagesElement.EnumerateArray())
        {
            string at = $"messages[{i}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                return (null, Invalid(at, $"{at} must be an object with role and content (or parts)."));
            }
            if (!item.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String)
            {
                return (null, Invalid($"{at}.role", $"{at}.role is required and must be \"user\" or \"assistant\"."));
            }
            string? role = roleElement.GetString();
            if (role is not (ChatTurn.User or ChatTurn.Assistant))
            {
                return (null, Invalid($"{at}.role", $"{at}.role must be \"user\" or \"assistant\"."));
            }

            string content;
            string field;
            if (item.TryGetProperty("content", out var contentElement) && contentElement.ValueKind != JsonValueKind.Null)
            {
                field = $"{at}.content";
                if (contentElement.ValueKind != JsonValueKind.String)
                {
                    return (null, Invalid(field, $"{field} must be a string."));
                }
                content = contentElement.GetString()!;
            }
            else if (item.TryGetProperty("parts", out var partsElement) && partsElement.ValueKind != JsonValueKind.Null)
            {
                field = $"{at}.parts";
                var (text, partsProblem) = ReadParts(partsElement, field, role);
                if (partsProblem is not null)
                {
                    return (null, partsProblem);
                }
                content = text!;
                uiMessages = true;
            }
            else
            {
                return (null, Invalid($"{at}.content", $"{at}.content is required (or parts, as the AI SDK sends)."));
            }
            if (string.IsNullOrWhiteSpace(content))
            {
                return (null, Invalid(field, $"{field} must not be blank."));
            }
            if (content.Length > MaxContentLength)
            {
                return (null, Invalid(field, $"{field} must be at most {MaxContentLength} characters."));
            }
            turns[i++] = new ChatTurn(role, content);
        }

        if (turns[^1].Role != ChatTurn.User)
        {
            return (null, Invalid($"messages[{count - 1}].role", "The last message must be from the user."));
        }
        return (new ChatRequest(userId, turns) { UiMessages = uiMessages }, null);
    }

    /// <summary>
    /// An AI SDK message's text: its text parts, joined by line breaks. A user message may hold only text (anything else
    /// would be dropped without a word); an assistant message's other parts (steps, reasoning, sources) are its own extras.
    /// </summary>
    private static (string? Text, ChatInputProblem? Problem) ReadParts(JsonElement parts, string field, string role)
    {
        if (parts.ValueKind != JsonValueKind.Array)
        {
            return (null, Invalid(field, $"{field} must be an array of parts, such as [{{\"type\": \"text\", \"text\": \"...\"}}]."));
        }
        var texts = new List<string>();
        int j = 0;
        foreach (var part in parts.EnumerateArray())
        {
            string at = $"{field}[{j++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return (null, Invalid($"{at}.type", $"{at} must be an object with a type, such as {{\"type\": \"text\", \"text\": \"...\"}}."));
            }
            if (type.ValueEquals("text"))
            {
                if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                {
                    return (null, Invalid($"{at}.text", $"{at}.text is required and must be a string."));
                }
                texts.Add(text.GetString()!);
            }
            else if (role == ChatTurn.User)
            {
                return (null, Invalid($"{at}.type", $"{at}.type must be \"text\": only text messages are supported."));
            }
        }
        return (string.Join('\n', texts), null);
    }

    /// <summary>The body as read, without copying it again (a valid body can be megabytes).</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <summary>
    /// JSON, or no Content-Type at all. Anything else is refused: a form post (curl -d without -H) is a mistake worth
    /// naming, and text/plain is how a page on another site could post here without the browser asking CORS first.
    /// </summary>
    private static bool IsJson(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return true;
        }
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType.Value is not { } mediaType)
        {
            return false;
        }
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private static string Shorten(string value) => value.Length <= 100 ? value : value[..100] + "…";

    private static ChatInputProblem Invalid(string field, string detail) => new(StatusCodes.Status400BadRequest, field, detail);

    private static ChatInputProblem TooLarge() =>
        new(StatusCodes.Status413PayloadTooLarge, "body", $"The request body must be at most {MaxBodyBytes / (1024 * 1024)} MiB.");
}
