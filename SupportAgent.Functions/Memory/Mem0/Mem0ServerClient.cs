namespace SupportAgent.Functions.Memory.Mem0;

/// <summary>
/// The self-hosted Mem0 REST server: <c>X-API-Key</c> (set on the HttpClient), no /v1 prefix and no trailing
/// slashes (<c>/memories/</c> is a 404 there). Add runs the extraction inside the request, so it is slow and synchronous.
/// </summary>
public sealed class Mem0ServerClient(HttpClient http) : Mem0HttpClient(http)
{
    // The server's list default is 20; ask for its maximum so a user's memories are not cut short silently.
    private const int ListTopK = 1000;

    public override async Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken)
    {
        var body = new ServerSearchBody(query, new UserFilter(RequireUserId(userId)), topK);
        var root = await SendAsync(HttpMethod.Post, "search", Json(body, Mem0JsonContext.Default.ServerSearchBody), "search", cancellationToken);
        return Mem0Results.Read(root);
    }

    public override Task AddAsync(MemoryExchange exchange, CancellationToken cancellationToken)
    {
        var body = new AddBody(exchange.Turns, RequireUserId(exchange.UserId), Metadata(exchange));
        return SendAsync(HttpMethod.Post, "memories", Json(body, Mem0JsonContext.Default.AddBody), "add", cancellationToken);
    }

    /// <summary>The server does not page: it lists up to its maximum at once, and <paramref name="next"/> is an offset into that list.</summary>
    public override async Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken)
    {
        var root = await SendAsync(HttpMethod.Get, $"memories?user_id={Uri.EscapeDataString(RequireUserId(userId))}&top_k={ListTopK}", null, "list", cancellationToken);
        var all = Mem0Results.Read(root);
        int offset = int.TryParse(next, out int o) && o > 0 ? Math.Min(o, all.Count) : 0;
        var items = all.Skip(offset).Take(Math.Max(pageSize, 1)).ToArray();
        int end = offset + items.Length;
        return new MemoryPage(items, end < all.Count ? end.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
    }

    protected override string MemoryPath(string memoryId) => $"memories/{Uri.EscapeDataString(memoryId)}";

    /// <summary>
    /// The server's delete-all needs an admin credential (ADMIN_API_KEY). With a per-user key it is refused, and the
    /// user's memories are deleted one by one instead, so "forget me" works with either key.
    /// </summary>
    public override async Task DeleteAllAsync(string userId, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(HttpMethod.Delete, $"memories?user_id={Uri.EscapeDataString(RequireUserId(userId))}", null, "delete-all", cancellationToken);
        }
        catch (MemoryStoreException ex) when (ex.Status is 401 or 403)
        {
            int deleted;
            MemoryPage page;
            do
            {
                // Always the first page: each round deletes what it lists (a round that deletes nothing ends it).
                page = await ListAsync(userId, ListTopK, null, cancellationToken);
                deleted = 0;
                foreach (var item in page.Items)
                {
                    deleted += await DeleteAsync(userId, item.Id, cancellationToken) ? 1 : 0;
                }
            }
            while (deleted > 0 && page.Next is not null);
        }
    }
}
