namespace SupportAgent.Functions.Memory.Mem0;

/// <summary>
/// The hosted Mem0 Platform: <c>Authorization: Token</c> (set on the HttpClient), v3 add/search/list, v1 deletes.
/// Platform add and delete are asynchronous: a 200 means accepted, not yet searchable.
/// </summary>
public sealed class Mem0PlatformClient(HttpClient http) : Mem0HttpClient(http)
{
    private const int MaxPageSize = 100;

    public override async Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken)
    {
        var body = new PlatformSearchBody(query, new UserFilter(RequireUserId(userId)), topK, Rerank: false);
        var root = await SendAsync(HttpMethod.Post, "v3/memories/search/", Json(body, Mem0JsonContext.Default.PlatformSearchBody), "search", cancellationToken);
        return Mem0Results.Read(root);
    }

    public override Task AddAsync(MemoryExchange exchange, CancellationToken cancellationToken)
    {
        // timestamp: when the user said it, so the memory is dated then even when the queue delivers the write later.
        var body = new AddBody(exchange.Turns, RequireUserId(exchange.UserId), Metadata(exchange), exchange.CreatedAt.ToUnixTimeSeconds());
        return SendAsync(HttpMethod.Post, "v3/memories/add/", Json(body, Mem0JsonContext.Default.AddBody), "add", cancellationToken);
    }

    /// <summary>The Platform pages by number: <paramref name="next"/> is the page to read (1 when null).</summary>
    public override async Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken)
    {
        var body = new PlatformListBody(new UserFilter(RequireUserId(userId)));
        int page = int.TryParse(next, out int p) && p > 0 ? p : 1;
        var root = await SendAsync(HttpMethod.Post, $"v3/memories/?page={page}&page_size={Math.Clamp(pageSize, 1, MaxPageSize)}",
            Json(body, Mem0JsonContext.Default.PlatformListBody), "list", cancellationToken);
        var items = Mem0Results.Read(root);
        return new MemoryPage(items, items.Count > 0 && Mem0Results.NextPage(root) is not null ? (page + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
    }

    protected override string MemoryPath(string memoryId) => $"v1/memories/{Uri.EscapeDataString(memoryId)}/";

    public override Task DeleteAllAsync(string userId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"v1/memories/?user_id={Uri.EscapeDataString(RequireUserId(userId))}", null, "delete-all", cancellationToken);
}
