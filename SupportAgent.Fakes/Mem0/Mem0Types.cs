using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace SupportAgent.Fakes;

/// <summary>Which Mem0 HTTP API the fake speaks (they differ in paths, auth, bodies and shapes).</summary>
public enum Mem0Flavor
{
    /// <summary>The hosted Platform: <c>Authorization: Token</c>, <c>/v3/…/</c> and <c>/v1/memories/…/</c> paths with trailing slashes, async add.</summary>
    Platform,

    /// <summary>The self-hosted REST server: <c>X-API-Key</c>, <c>/memories</c> and <c>/search</c> without trailing slashes, sync add.</summary>
    Server,
}

public enum Mem0Operation
{
    Add,
    Search,
    List,
    Get,
    Delete,
    DeleteAll,

    /// <summary>A path or method the API does not have (answered 404 / 405 and recorded).</summary>
    Unknown,
}

/// <summary>Forces a response shape on search or list, so a client can be tested against every documented shape.</summary>
public enum Mem0ResponseShape
{
    /// <summary>What the route documents (search, and the server's list: <c>{results}</c>; the Platform's list: a page envelope).</summary>
    Default,

    /// <summary><c>[{…}, …]</c>.</summary>
    BareArray,

    /// <summary><c>{"results":[…]}</c>.</summary>
    Results,

    /// <summary><c>{"count","next","previous","results"}</c>.</summary>
    Paged,

    /// <summary>Bare array of v1 sync-add items: <c>[{"id","data":{"memory"},"event":"ADD"}]</c>.</summary>
    V1Data,
}

public sealed record FakeMem0ServerOptions
{
    public Mem0Flavor Flavor { get; init; } = Mem0Flavor.Platform;

    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>
    /// Platform: the key <c>Authorization: Token &lt;key&gt;</c> must carry (null: any non-empty token is accepted, but
    /// the header is still required). Server: the key <c>X-API-Key</c> must carry; null together with a null
    /// <see cref="AdminApiKey"/> means auth is disabled (everything open, every caller is admin).
    /// </summary>
    public string? ApiKey { get; init; }

    /// <summary>Server only: the ADMIN_API_KEY, needed for delete-all and for listing without a user id.</summary>
    public string? AdminApiKey { get; init; }

    /// <summary>Platform only: how long an accepted add stays PENDING before its memories become searchable.</summary>
    public TimeSpan ProcessingDelay { get; init; }

    public TimeSpan SearchLatency { get; init; }

    public TimeSpan AddLatency { get; init; }

    /// <summary>Latency of every operation other than search and add.</summary>
    public TimeSpan OtherLatency { get; init; }

    /// <summary>How many requests <see cref="FakeMem0Server.Requests"/> keeps (oldest dropped first).</summary>
    public int RecordCapacity { get; init; } = 100_000;

    /// <summary>Drop an added memory whose text exactly repeats one the user already has (Mem0 v3 hash dedup).</summary>
    public bool DeduplicateExactMatches { get; init; } = true;

    /// <summary>Caps page sizes of paginated lists, to exercise a client's paging with few memories.</summary>
    public int? PageSizeLimit { get; init; }
}

/// <summary>One request as the Mem0 fake received it (recorded before latency, faults and auth are applied).</summary>
public sealed class RecordedMem0Request
{
    private int _status = -1;

    public required Mem0Operation Operation { get; init; }

    public required string Method { get; init; }

    public required string Path { get; init; }

    /// <summary>Raw query string including the leading '?', or "".</summary>
    public required string QueryString { get; init; }

    public required string Body { get; init; }

    public string? Authorization { get; init; }

    /// <summary>The <c>X-API-Key</c> header.</summary>
    public string? XApiKey { get; init; }

    /// <summary>The W3C <c>traceparent</c> header, when the caller sent one.</summary>
    public string? TraceParent { get; init; }

    public string? ContentType { get; init; }

    /// <summary>The first user id found (route, query, body top level, then <c>filters</c>); "" when given empty.</summary>
    public string? UserId { get; init; }

    /// <summary>Where <see cref="UserId"/> was found: "query", "body" (top level) or "filters".</summary>
    public string? UserIdSource { get; init; }

    /// <summary>True when any user id anywhere in the request contains '*' (the Platform reads it as "all users").</summary>
    public bool HasWildcardUserId { get; init; }

    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>The status answered (0 for an injected hang/disconnect); null while the request is still in progress.</summary>
    public int? ResponseStatus
    {
        get => Volatile.Read(ref _status) is var s && s >= 0 ? s : null;
        internal set => Volatile.Write(ref _status, value ?? -1);
    }

    public string? Query(string name) =>
        QueryHelpers.ParseQuery(QueryString).TryGetValue(name, out var values) ? values.ToString() : null;

    /// <summary>The body parsed as JSON (cloned; default when empty or not JSON).</summary>
    public JsonElement BodyJson()
    {
        if (string.IsNullOrEmpty(Body))
        {
            return default;
        }
        try
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return default;
        }
    }

    public override string ToString() => $"{Method} {Path}{QueryString} -> {ResponseStatus?.ToString() ?? "…"}";
}
