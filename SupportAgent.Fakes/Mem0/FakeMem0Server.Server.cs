using System.Text.Json;
using Microsoft.AspNetCore.Builder;

namespace SupportAgent.Fakes;

// The self-hosted REST server's routes the service calls (docs/mem0-api.md): no /v1 prefix, no trailing slashes,
// synchronous add, {results} everywhere, default top_k 20, admin-only delete-all.
public sealed partial class FakeMem0Server
{
    private const string ServerMissingIdentifier = """{"detail":"At least one identifier (user_id, agent_id, run_id) is required."}""";
    private const string ServerMemoryNotFound = """{"detail":"Memory not found"}""";
    private const string ServerAdminRequired = """{"detail":"Admin access required."}""";
    private const int ServerDefaultTopK = 20;

    private void MapServer(WebApplication app)
    {
        Map(app, "POST", "/memories", Mem0Operation.Add, ServerAddAsync);
        Map(app, "POST", "/search", Mem0Operation.Search, ServerSearchAsync);
        Map(app, "GET", "/memories", Mem0Operation.List, ServerListAsync);
        Map(app, "GET", "/memories/{id}", Mem0Operation.Get, ServerGetAsync);
        Map(app, "DELETE", "/memories/{id}", Mem0Operation.Delete, ServerDeleteAsync);
        Map(app, "DELETE", "/memories", Mem0Operation.DeleteAll, ServerDeleteAllAsync);
    }

    /// <summary>FastAPI's answer to a body or parameter that fails validation.</summary>
    private static Task UnprocessableAsync(Call call, string location, string message) =>
        HttpIo.WriteRawJsonAsync(call.Http, 422,
            $$"""{"detail":[{"type":"value_error","loc":["{{location.Split('.')[0]}}","{{location[(location.IndexOf('.') + 1)..]}}"],"msg":{{HttpIo.JsonString(message)}}}]}""");

    /// <summary>Synchronous: the real server runs the LLM extraction inside this request (hence AddLatency).</summary>
    private async Task ServerAddAsync(Call call)
    {
        if (!call.BodyIsJson || call.Body.ValueKind != JsonValueKind.Object)
        {
            await UnprocessableAsync(call, "body.body", "Input should be a valid JSON object");
            return;
        }
        if (!HasMessages(call.Body))
        {
            await UnprocessableAsync(call, "body.messages", "Field required");
            return;
        }
        if (ScopeFromBody(call.Body) is not { } scope)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, ServerMissingIdentifier);
            return;
        }
        var added = StoreAdd(scope, UserTexts(call.Body), Metadata(call.Body));
        var response = new ServerAddResponse(added.Select(m => new AddEventItem(m.Id, m.Text, "ADD")).ToList());
        await HttpIo.WriteJsonAsync(call.Http, 200, response, Mem0WireJson.Relaxed.ServerAddResponse);
    }

    /// <summary><c>POST /search {query, filters?, top_k?, user_id?}</c>: top-level ids are merged into the filters.</summary>
    private async Task ServerSearchAsync(Call call)
    {
        if (!call.BodyIsJson || call.Body.ValueKind != JsonValueKind.Object)
        {
            await UnprocessableAsync(call, "body.body", "Input should be a valid JSON object");
            return;
        }
        if (HttpIo.StringProperty(call.Body, "query") is not { } query)
        {
            await UnprocessableAsync(call, "body.query", "Field required");
            return;
        }
        int topK = IntProperty(call.Body, "top_k") ?? ServerDefaultTopK;
        if (topK is < 1 or > 1000)
        {
            await UnprocessableAsync(call, "body.top_k", "Input should be between 1 and 1000");
            return;
        }
        string? scope = ScopeFromFilters(call.Body) ?? ScopeFromBody(call.Body);
        if (scope is null)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"detail":"At least one of 'user_id', 'agent_id', or 'run_id' must be provided."}""");
            return;
        }
        var hits = _store.Search(scope, query, topK).Select(h => (h.Memory, (double?)h.Score)).ToList();
        var shape = SearchResponseShape == Mem0ResponseShape.Default ? Mem0ResponseShape.Results : SearchResponseShape;
        await WriteMemoriesAsync(call, hits, shape, page: 1, pageSize: Math.Max(1, hits.Count));
    }

    /// <summary><c>GET /memories?user_id=&amp;top_k=</c>: default 20; without an id it lists everything, for admins only.</summary>
    private async Task ServerListAsync(Call call)
    {
        int topK = ServerDefaultTopK;
        if (call.Http.Request.Query.ContainsKey("top_k"))
        {
            if (IntQuery(call.Http, "top_k") is not { } requested || requested is < 0 or > 1000)
            {
                await UnprocessableAsync(call, "query.top_k", "Input should be between 0 and 1000");
                return;
            }
            topK = requested;
        }
        string? scope = ScopeFromQuery(call.Http);
        if (scope is null)
        {
            if (!call.IsAdmin)
            {
                await HttpIo.WriteRawJsonAsync(call.Http, 403, ServerAdminRequired);
                return;
            }
            scope = Mem0Store.Wildcard;
        }
        var memories = _store.List(scope).Take(topK).Select(m => (m, (double?)null)).ToList();
        var shape = ListResponseShape == Mem0ResponseShape.Default ? Mem0ResponseShape.Results : ListResponseShape;
        await WriteMemoriesAsync(call, memories, shape, IntQuery(call.Http, "page") ?? 1, IntQuery(call.Http, "page_size") ?? 100);
    }

    private async Task ServerGetAsync(Call call)
    {
        if (_store.Get((string)call.Http.Request.RouteValues["id"]!) is not { } memory)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 404, ServerMemoryNotFound);
            return;
        }
        await HttpIo.WriteJsonAsync(call.Http, 200, ServerItem(memory, null), Mem0WireJson.Relaxed.ServerMemoryItem);
    }

    private async Task ServerDeleteAsync(Call call)
    {
        bool deleted = _store.Delete((string)call.Http.Request.RouteValues["id"]!);
        await HttpIo.WriteRawJsonAsync(call.Http, deleted ? 200 : 404,
            deleted ? """{"message":"Memory deleted successfully"}""" : ServerMemoryNotFound);
    }

    /// <summary><c>DELETE /memories?user_id=</c>: admin only (ADMIN_API_KEY), synchronous.</summary>
    private async Task ServerDeleteAllAsync(Call call)
    {
        if (!call.IsAdmin)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 403, ServerAdminRequired);
            return;
        }
        if (ScopeFromQuery(call.Http) is not { } scope)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, ServerMissingIdentifier);
            return;
        }
        _store.DeleteAll(scope);
        _changed.Pulse();
        await HttpIo.WriteRawJsonAsync(call.Http, 200, """{"message":"All relevant memories deleted"}""");
    }
}
