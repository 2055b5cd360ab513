using SupportAgent.Functions.Chat;

namespace SupportAgent.Functions.Memory.Mem0;

/// <summary>
/// The hosted Mem0 Platform: <c>Authorization: Token</c> (set on the HttpClient), v3 add/search/list, v1 deletes.
/// Platform add and delete are asynchronous: a 200 means accepted, not yet searchable.
/// </summary>
public sealed class Mem0PlatformClient(HttpClient http) : Mem0HttpClient(http)
{
    private const int PageSize = 100;
    private const int MaxPages = 50;

    public override async Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken)
    {
        var body = new PlatformSearchBody(query, new UserFilter(RequireUserId(userId)), topK, Rerank: false);
        var root = await SendAsync(HttpMethod.Post, "v3/memories/search/", Json(body, Mem0JsonContext.Default.PlatformSearchBody), "search", cancellationToken);
        return Mem0Results.Read(root);
    }

    public override Task AddAsync(string userId, IReadOnlyList<ChatTurn> messages, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var body = new AddBody(messages, RequireUserId(userId), metadata);
        return SendAsync(HttpMethod.Post, "v3/memories/add/", Json(body, Mem0JsonContext.Default.AddBody), "add", cancellationToken);
    }

    public override async Task<IReadOnlyList<MemoryItem>> ListAsync(string userId, CancellationToken cancellationToken)
    {
        var body = new PlatformListBody(new UserFilter(RequireUserId(userId)));
        var all = new List<MemoryItem>();
        for (int page = 1; page <= MaxPages; page++)
        {
            var root = await SendAsync(HttpMethod.Post, $"v3/memories/?page={page}&page_size={PageSize}",
                Json(body, Mem0JsonContext.Default.PlatformListBody), "list", cancellationToken);
            var items = Mem0Results.Read(root);
            all.AddRange(items);
            if (items.Count == 0 || Mem0Results.NextPage(root) is null)
            {
                break;
            }
        }
        return all;
    }

    public override Task DeleteAsync(string memoryId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"v1/memories/{Uri.EscapeDataString(RequireMemoryId(memoryId))}/", null, "delete", cancellationToken);

    public override Task DeleteAllAsync(string userId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"v1/memories/?user_id={Uri.EscapeDataString(RequireUserId(userId))}", null, "delete-all", cancellationToken);
}
