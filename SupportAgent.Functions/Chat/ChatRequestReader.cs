using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Chat;

/// <summary>A request the service refuses, with the HTTP status and the field at fault.</summary>
public sealed record ChatInputProblem(int Status, string Field, string Detail);

/// <summary>
/// Reads and validates the chat request body, bound to typed records by System.Text.Json's source generator; a value of
/// the wrong type is reported at the field the serializer's path names. Every rule exists because something downstream depends on it:
/// the user id scopes Mem0 (where "*" means every user), roles decide what reaches the model (no client "system"
/// turns), and the size limits keep one exchange within what the queue and the model accept.
/// </summary>
public static class ChatRequestReader
{
    public const int MaxUserIdLength = MemoryUserId.MaxLength;
    /// <summary>
    /// Frontends resend the whole conversation every turn, so hundreds of messages are normal (the token budget decides
    /// what reaches the model); this cap only stops abuse.
    /// </summary>
    public const int MaxMessages = 2_000;
    public const int MaxContentLength = 16_000;

    /// <summary>
    /// Largest body accepted: room for a long conversation (2,000 messages of 870 characters, or 100 of 16,000 characters
    /// even when every character is sent as a six-byte JSON escape); a bigger one is refused before it is parsed.
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
        ChatRequestBody? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(body.Span, ChatRequestJson.Default.ChatRequestBody);
        }
        catch (JsonException ex)
        {
            return (null, WrongShape(ex, signedInUserId));
        }
        return parsed is null ? (null, NotAnObject(signedInUserId)) : Validate(parsed, signedInUserId);
    }

    private static (ChatRequest?, ChatInputProblem?) Validate(ChatRequestBody body, string? signedInUserId)
    {
        string userId;
        if (signedInUserId is not null)
        {
            userId = signedInUserId;
        }
        else
        {
            if (body.UserId is not { ValueKind: not JsonValueKind.Null } userIdElement)
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

        if (body.Messages is not { } messages)
        {
            return (null, Invalid("messages", "messages is required."));
        }
        if (messages.Count == 0)
        {
            return (null, Invalid("messages", "messages must not be empty."));
        }
        if (messages.Count > MaxMessages)
        {
            return (null, Invalid("messages", $"messages must have at most {MaxMessages} items."));
        }

        // The Vercel AI SDK's useChat sends {id, messages: [{id, role, parts: [{type: "text", text}]}], trigger}.
        bool uiMessages = body.Trigger is not null;
        var turns = new ChatTurn[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            string at = $"messages[{i}]";
            if (messages[i] is not { } message)
            {
                return (null, Invalid(at, Shapes.Message(at)));
            }
            if (message.Role is not (ChatTurn.User or ChatTurn.Assistant))
            {
                return (null, Invalid($"{at}.role", message.Role is null ? Shapes.Role(at) : $"{at}.role must be \"user\" or \"assistant\"."));
            }

            string content;
            string field;
            if (message.Content is not null)
            {
                field = $"{at}.content";
                content = message.Content;
            }
            else if (message.Parts is not null)
            {
                field = $"{at}.parts";
                var (text, partsProblem) = ReadParts(message.Parts, field, message.Role);
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
            turns[i] = new ChatTurn(message.Role, content);
        }

        if (turns[^1].Role != ChatTurn.User)
        {
            return (null, Invalid($"messages[{turns.Length - 1}].role", "The last message must be from the user."));
        }
        return (new ChatRequest(userId, turns) { UiMessages = uiMessages }, null);
    }

    /// <summary>
    /// An AI SDK message's text: its text parts, joined by line breaks. A user message may hold only text (anything else
    /// would be dropped without a word); an assistant message's other parts (steps, reasoning, sources) are its own extras.
    /// </summary>
    private static (string? Text, ChatInputProblem? Problem) ReadParts(List<UiMessagePart?> parts, string field, string role)
    {
        var texts = new List<string>(parts.Count);
        for (int j = 0; j < parts.Count; j++)
        {
            string at = $"{field}[{j}]";
            if (parts[j] is not { Type: { } type } part)
            {
                return (null, Invalid($"{at}.type", Shapes.Part(at)));
            }
            if (type == "text")
            {
                if (part.Text is null)
                {
                    return (null, Invalid($"{at}.text", Shapes.PartText(at)));
                }
                texts.Add(part.Text);
            }
            else if (role == ChatTurn.User)
            {
                return (null, Invalid($"{at}.type", $"{at}.type must be \"text\": only text messages are supported."));
            }
        }
        return (string.Join('\n', texts), null);
    }

    /// <summary>
    /// A body that is not JSON at all, or JSON of the wrong shape at some field: the serializer's path
    /// ("$.messages[2].parts[0].type") names the field, and the field's expected shape is said the way a person would.
    /// </summary>
    private static ChatInputProblem WrongShape(JsonException ex, string? signedInUserId)
    {
        // Syntax errors carry the reader's own exception; a value of the wrong type at a known path does not.
        if (ex.InnerException is JsonException || ex.Path is not { Length: > 1 } path || !path.StartsWith("$.", StringComparison.Ordinal))
        {
            return ex.InnerException is JsonException || ex.Path is null
                ? Invalid("body", "The request body must be a JSON object: {\"userId\": \"...\", \"messages\": [{\"role\": \"user\", \"content\": \"...\"}]}.")
                : NotAnObject(signedInUserId);
        }
        string field = path[2..];
        // A value inside a part or a message that is itself the wrong type is reported at the nearest named field.
        return field switch
        {
            "messages" => Invalid(field, "messages must be an array."),
            "id" or "trigger" => Invalid(field, $"{field} must be a string."),
            _ when field.EndsWith(".role", StringComparison.Ordinal) => Invalid(field, Shapes.Role(field[..^5])),
            _ when field.EndsWith(".content", StringComparison.Ordinal) => Invalid(field, $"{field} must be a string."),
            _ when field.EndsWith(".parts", StringComparison.Ordinal) => Invalid(field, $"{field} must be an array of parts, such as [{{\"type\": \"text\", \"text\": \"...\"}}]."),
            _ when field.EndsWith(".type", StringComparison.Ordinal) => Invalid(field, Shapes.Part(field[..^5])),
            _ when field.EndsWith(".text", StringComparison.Ordinal) => Invalid(field, Shapes.PartText(field[..^5])),
            _ when field.EndsWith(']') && field.Contains(".parts[", StringComparison.Ordinal) => Invalid(field + ".type", Shapes.Part(field)),
            _ when field.EndsWith(']') => Invalid(field, Shapes.Message(field)),
            _ => Invalid("body", $"{field} has the wrong type."),
        };
    }

    private static ChatInputProblem NotAnObject(string? signedInUserId) => Invalid("body", signedInUserId is null
        ? "The request body must be a JSON object with userId and messages."
        : "The request body must be a JSON object with messages.");

    /// <summary>The expected shape of a field, in the words every problem about it uses.</summary>
    private static class Shapes
    {
        public static string Message(string at) => $"{at} must be an object with role and content (or parts).";

        public static string Role(string at) => $"{at}.role is required and must be \"user\" or \"assistant\".";

        public static string Part(string at) => $"{at} must be an object with a type, such as {{\"type\": \"text\", \"text\": \"...\"}}.";

        public static string PartText(string at) => $"{at}.text is required and must be a string.";
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

/// <summary>The request body as sent: the tutorial's <c>{userId, messages: [{role, content}]}</c> or the AI SDK's shape.</summary>
internal sealed record ChatRequestBody(
    // Any JSON: a signed-in user's request ignores a userId in the body whatever it holds.
    JsonElement? UserId,
    List<ChatMessageBody?>? Messages,
    string? Id,
    string? Trigger);

/// <summary>One message: <c>content</c> (the tutorial), or <c>parts</c> (the AI SDK); <c>content</c> wins when both are sent.</summary>
internal sealed record ChatMessageBody(string? Role, string? Content, List<UiMessagePart?>? Parts);

/// <summary>One AI SDK message part; only text parts carry what is said (other properties of other parts are skipped).</summary>
internal sealed record UiMessagePart(string? Type, string? Text);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 16)]
[JsonSerializable(typeof(ChatRequestBody))]
internal sealed partial class ChatRequestJson : JsonSerializerContext;
