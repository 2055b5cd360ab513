using System.Text.Json;
using Microsoft.AspNetCore.Builder;

namespace SupportAgent.Fakes;

// The hosted Platform's routes (reference §1): v1/v2/v3 add, search and list, v1 deletes, entity delete, ping, events.
public sealed partial class FakeMem0Server
{
    private const string MissingEntityMessage = """{"message":"At least one of the filters: agent_id, user_id, app_id, run_id is required!"}""";
    private const string MissingEntityList = """["One of the filters: app_id, user_id, agent_id, run_id is required!"]""";
    private const string InvalidAddBody =
        """{"error":"400 Bad Request","details":{"message":"Invalid input data. Please refer to the memory creation documentation at https://docs.mem0.ai/platform/quickstart#4-1-create-memories for correct formatting and required fields."}}""";
    private const string EntityOutsideFilters =
        """{"error":"Entity IDs (user_id, agent_id, app_id, run_id) must be passed inside 'filters', e.g. {\"filters\": {\"user_id\": \"alice\"}}."}""";

    private void MapPlatform(WebApplication app)
    {
        Map(app, "GET", "/v1/ping/", Mem0Operation.Ping, call => HttpIo.WriteRawJsonAsync(call.Http, 200,
            """{"status":"ok","org_id":"org_fake","project_id":"proj_fake","user_email":"fake@mem0.local"}"""));

        Map(app, "POST", "/v1/memories/", Mem0Operation.Add, call => PlatformAddAsync(call, v3: false));
        Map(app, "POST", "/v3/memories/add/", Mem0Operation.Add, call => PlatformAddAsync(call, v3: true));

        Map(app, "POST", "/v1/memories/search/", Mem0Operation.Search, call => PlatformSearchAsync(call, version: 1));
        Map(app, "POST", "/v2/memories/search/", Mem0Operation.Search, call => PlatformSearchAsync(call, version: 2));
        Map(app, "POST", "/v3/memories/search/", Mem0Operation.Search, call => PlatformSearchAsync(call, version: 3));

        Map(app, "GET", "/v1/memories/", Mem0Operation.List, PlatformListV1Async);
        Map(app, "POST", "/v2/memories/", Mem0Operation.List, call => PlatformListFilteredAsync(call, v3: false));
        Map(app, "POST", "/v3/memories/", Mem0Operation.List, call => PlatformListFilteredAsync(call, v3: true));

        Map(app, "GET", "/v1/memories/{id}/", Mem0Operation.Get, PlatformGetAsync);
        Map(app, "PUT", "/v1/memories/{id}/", Mem0Operation.Update, PlatformUpdateAsync);
        Map(app, "DELETE", "/v1/memories/{id}/", Mem0Operation.Delete, PlatformDeleteAsync);
        Map(app, "DELETE", "/v1/memories/", Mem0Operation.DeleteAll, PlatformDeleteAllAsync);
        Map(app, "DELETE", "/v2/entities/user/{userId}/", Mem0Operation.DeleteAll, PlatformDeleteAllAsync);

        Map(app, "GET", "/v1/event/{id}/", Mem0Operation.Event, PlatformEventAsync);
    }

    private async Task PlatformAddAsync(Call call, bool v3)
    {
        string? scope = ScopeFromBody(call.Body);
        if (!call.BodyIsJson || scope is null || !HasMessages(call.Body))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, InvalidAddBody);
            return;
        }
        var texts = UserTexts(call.Body);
        var metadata = Metadata(call.Body);
        string eventId = Guid.NewGuid().ToString();
        bool infer = !(call.Body.TryGetProperty("infer", out var i) && i.ValueKind == JsonValueKind.False);
        bool sync = (!v3 && call.Body.TryGetProperty("async_mode", out var a) && a.ValueKind == JsonValueKind.False) || (v3 && !infer);

        if (sync || ProcessingDelay <= TimeSpan.Zero)
        {
            var added = StoreAdd(scope, texts, metadata);
            _events[eventId] = new PlatformEventState(eventId, "SUCCEEDED", added, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
            if (sync)
            {
                // v1 async_mode:false → bare array of {id, data:{memory}, event}; v3 infer:false → {status:SUCCEEDED, results}.
                string items = string.Join(",", added.Select(m => JsonSerializer.Serialize(new V1DataItem(m.Id, new V1Data(m.Text), "ADD"), Mem0WireJson.Relaxed.V1DataItem)));
                await HttpIo.WriteRawJsonAsync(call.Http, 200, v3 ? $$"""{"status":"SUCCEEDED","results":[{{items}}]}""" : $"[{items}]");
                return;
            }
        }
        else
        {
            _events[eventId] = new PlatformEventState(eventId, "PENDING", [], DateTimeOffset.UtcNow, null);
            _ = CompleteLaterAsync(eventId, scope, texts, metadata, ProcessingDelay);
        }

        await HttpIo.WriteRawJsonAsync(call.Http, 200, v3
            ? $$"""{"event_id":"{{eventId}}","status":"PENDING"}"""
            : $$"""[{"message":"Memory processing has been queued for background execution","status":"PENDING","event_id":"{{eventId}}"}]""");
    }

    /// <summary>Background "processing" of an accepted add. Completes even if the fake stops meanwhile (the real service would).</summary>
    private async Task CompleteLaterAsync(string eventId, string scope, List<string> texts, JsonElement? metadata, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, Stopping);
        }
        catch (OperationCanceledException)
        {
            // stopping: finish now
        }
        var added = StoreAdd(scope, texts, metadata);
        if (_events.TryGetValue(eventId, out var pending))
        {
            _events[eventId] = pending with { Status = "SUCCEEDED", Added = added, UpdatedAt = DateTimeOffset.UtcNow };
        }
    }

    private async Task PlatformSearchAsync(Call call, int version)
    {
        if (!call.BodyIsJson || call.Body.ValueKind != JsonValueKind.Object)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"detail":"JSON parse error - Expecting value: line 1 column 1 (char 0)"}""");
            return;
        }
        if (version == 3 && HasTopLevelEntity(call.Body))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, EntityOutsideFilters);
            return;
        }
        string? query = HttpIo.StringProperty(call.Body, "query");
        if (string.IsNullOrWhiteSpace(query))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"error":"query is required and must be a non-empty string."}""");
            return;
        }
        string? scope = version == 1 ? ScopeFromBody(call.Body) ?? ScopeFromFilters(call.Body) : ScopeFromFilters(call.Body);
        if (scope is null)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, MissingEntityMessage);
            return;
        }
        int topK = IntProperty(call.Body, "top_k") ?? 10;
        if (topK is < 1 or > 1000)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"error":"top_k must be between 1 and 1000."}""");
            return;
        }

        var hits = _store.Search(scope, query, topK).Select(h => (h.Memory, (double?)h.Score)).ToList();
        var shape = SearchResponseShape;
        if (shape == Mem0ResponseShape.Default)
        {
            bool v11 = HttpIo.StringProperty(call.Body, "output_format") == "v1.1";
            shape = version == 3 || (version == 1 && v11) ? Mem0ResponseShape.Results : Mem0ResponseShape.BareArray;
        }
        await WriteMemoriesAsync(call, hits, shape, page: 1, pageSize: Math.Max(1, hits.Count));
    }

    /// <summary><c>GET /v1/memories/?user_id=</c>: a bare array, or a page envelope when both page and page_size are given.</summary>
    private async Task PlatformListV1Async(Call call)
    {
        string? scope = ScopeFromQuery(call.Http);
        if (scope is null)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, MissingEntityList);
            return;
        }
        int? page = IntQuery(call.Http, "page");
        int? pageSize = IntQuery(call.Http, "page_size");
        var memories = _store.List(scope);
        var shape = ListResponseShape;
        if (shape == Mem0ResponseShape.Default)
        {
            shape = page is not null && pageSize is not null ? Mem0ResponseShape.Paged : Mem0ResponseShape.BareArray;
        }
        if (shape != Mem0ResponseShape.Paged)
        {
            memories = memories.Take(Math.Clamp(IntQuery(call.Http, "limit") ?? 200, 1, 200)).ToList(); // unpaged v1 lists stop at `limit` (≤ 200)
        }
        await WriteMemoriesAsync(call, memories.Select(m => (m, (double?)null)).ToList(), shape, page ?? 1, pageSize ?? 100);
    }

    /// <summary><c>POST /v2/memories/</c> (bare array) and <c>POST /v3/memories/?page=&amp;page_size=</c> (page envelope), body <c>{filters}</c>.</summary>
    private async Task PlatformListFilteredAsync(Call call, bool v3)
    {
        if (v3 && HasTopLevelEntity(call.Body))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, EntityOutsideFilters);
            return;
        }
        string? scope = ScopeFromFilters(call.Body);
        if (scope is null)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, MissingEntityMessage);
            return;
        }
        var memories = _store.List(scope).Select(m => (m, (double?)null)).ToList();
        var shape = ListResponseShape == Mem0ResponseShape.Default
            ? (v3 ? Mem0ResponseShape.Paged : Mem0ResponseShape.BareArray)
            : ListResponseShape;
        await WriteMemoriesAsync(call, memories, shape, IntQuery(call.Http, "page") ?? 1, IntQuery(call.Http, "page_size") ?? 100);
    }

    private async Task PlatformGetAsync(Call call)
    {
        string id = (string)call.Http.Request.RouteValues["id"]!;
        if (!Guid.TryParse(id, out _))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"error":"memory_id should be a valid UUID"}""");
            return;
        }
        if (_store.Get(id) is not { } memory)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 404, """{"error":"Memory not found!"}""");
            return;
        }
        await HttpIo.WriteJsonAsync(call.Http, 200, PlatformItem(memory, null), Mem0WireJson.Relaxed.PlatformMemoryItem);
    }

    private async Task PlatformUpdateAsync(Call call)
    {
        string id = (string)call.Http.Request.RouteValues["id"]!;
        if (!Guid.TryParse(id, out _))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"error":"memory_id should be a valid UUID"}""");
            return;
        }
        if (_store.Update(id, HttpIo.StringProperty(call.Body, "text"), Metadata(call.Body)) is not { } memory)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 404, """{"error":"Memory not found!"}""");
            return;
        }
        await HttpIo.WriteJsonAsync(call.Http, 200, PlatformItem(memory, null), Mem0WireJson.Relaxed.PlatformMemoryItem);
    }

    private async Task PlatformDeleteAsync(Call call)
    {
        string id = (string)call.Http.Request.RouteValues["id"]!;
        if (!Guid.TryParse(id, out _))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"error":"memory_id should be a valid UUID"}""");
            return;
        }
        bool deleted = _store.Delete(id);
        await HttpIo.WriteRawJsonAsync(call.Http, deleted ? 200 : 404,
            deleted ? """{"message":"Memory deleted successfully!"}""" : """{"error":"Memory not found!"}""");
    }

    /// <summary>Delete all of a user's memories. Asynchronous on the real Platform; the fake deletes at once.</summary>
    private async Task PlatformDeleteAllAsync(Call call)
    {
        string? scope = call.Http.Request.RouteValues.TryGetValue("userId", out var fromRoute) && fromRoute is string { Length: > 0 } routeUser
            ? routeUser
            : ScopeFromQuery(call.Http);
        if (scope is null)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, MissingEntityList);
            return;
        }
        _store.DeleteAll(scope);
        _changed.Pulse();
        await HttpIo.WriteRawJsonAsync(call.Http, 200,
            $$"""{"message":"Delete in progress. This may take some time.","event_id":"{{Guid.NewGuid()}}"}""");
    }

    private async Task PlatformEventAsync(Call call)
    {
        string id = (string)call.Http.Request.RouteValues["id"]!;
        if (!_events.TryGetValue(id, out var state))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 404, """{"error":"Event not found!"}""");
            return;
        }
        var results = state.Added.Select(m => new AddEventItem(m.Id, m.Text, "ADD")).ToList();
        var body = new PlatformEvent(state.Id, "ADD", state.Status, results,
            state.CreatedAt.ToString("O"), state.UpdatedAt?.ToString("O"));
        await HttpIo.WriteJsonAsync(call.Http, 200, body, Mem0WireJson.Relaxed.PlatformEvent);
    }

    private static PlatformMemoryItem PlatformItem(Mem0Memory m, double? score) =>
        new(m.Id, m.Text, UserIdOf(m), score, m.Metadata, [], null, m.CreatedAtText, m.UpdatedAtText);

    private static ServerMemoryItem ServerItem(Mem0Memory m, double? score) =>
        new(m.Id, m.Text, m.Hash, m.Metadata, score, UserIdOf(m), m.CreatedAtText, m.UpdatedAtText);

    /// <summary>Scopes other than a user's are stored as "agent:x" etc.; those memories have no user_id.</summary>
    private static string? UserIdOf(Mem0Memory m) =>
        m.UserId.StartsWith("agent:", StringComparison.Ordinal) || m.UserId.StartsWith("app:", StringComparison.Ordinal) || m.UserId.StartsWith("run:", StringComparison.Ordinal)
            ? null
            : m.UserId;

    /// <summary>Writes memories in the given shape; <see cref="Mem0ResponseShape.Paged"/> pages them and links the next page.</summary>
    private async Task WriteMemoriesAsync(Call call, List<(Mem0Memory Memory, double? Score)> items, Mem0ResponseShape shape, int page, int pageSize)
    {
        var http = call.Http;
        int count = items.Count;
        string? next = null, previous = null;
        if (shape == Mem0ResponseShape.Paged)
        {
            if (page < 1 || pageSize < 1)
            {
                await HttpIo.WriteRawJsonAsync(http, 404, """{"detail":"Invalid page."}""");
                return;
            }
            if (PageSizeLimit is { } limit)
            {
                pageSize = Math.Min(pageSize, limit);
            }
            int skip = (int)Math.Min(int.MaxValue, (long)(page - 1) * pageSize);
            if (page > 1 && skip >= count)
            {
                await HttpIo.WriteRawJsonAsync(http, 404, """{"detail":"Invalid page."}""");
                return;
            }
            string link = BaseUrl + http.Request.Path.Value;
            next = skip + pageSize < count ? $"{link}?page={page + 1}&page_size={pageSize}" : null;
            previous = page > 1 ? $"{link}?page={page - 1}&page_size={pageSize}" : null;
            items = items.Skip(skip).Take(pageSize).ToList();
        }

        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        await using (var writer = new Utf8JsonWriter(http.Response.BodyWriter, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            bool envelope = shape is Mem0ResponseShape.Results or Mem0ResponseShape.Paged;
            if (envelope)
            {
                writer.WriteStartObject();
                if (shape == Mem0ResponseShape.Paged)
                {
                    writer.WriteNumber("count", count);
                    writer.WriteString("next", next);
                    writer.WriteString("previous", previous);
                }
                writer.WritePropertyName("results");
            }
            writer.WriteStartArray();
            foreach (var (memory, score) in items)
            {
                if (shape == Mem0ResponseShape.V1Data)
                {
                    JsonSerializer.Serialize(writer, new V1DataItem(memory.Id, new V1Data(memory.Text), "ADD"), Mem0WireJson.Relaxed.V1DataItem);
                }
                else if (Flavor == Mem0Flavor.Platform)
                {
                    JsonSerializer.Serialize(writer, PlatformItem(memory, score), Mem0WireJson.Relaxed.PlatformMemoryItem);
                }
                else
                {
                    JsonSerializer.Serialize(writer, ServerItem(memory, score), Mem0WireJson.Relaxed.ServerMemoryItem);
                }
            }
            writer.WriteEndArray();
            if (envelope)
            {
                writer.WriteEndObject();
            }
        }
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
    }
}
