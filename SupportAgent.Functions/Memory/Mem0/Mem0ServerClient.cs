using SupportAgent.Functions.Chat;

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

    public override Task AddAsync(string userId, IReadOnlyList<ChatTurn> messages, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var body = new AddBody(messages, RequireUserId(userId), metadata);
        return SendAsync(HttpMethod.Post, "memories", Json(body, Mem0JsonContext.Default.AddBody), "add", cancellationToken);
    }

    public override async Task<IReadOnlyList<MemoryItem>> ListAsync(string userId, CancellationToken cancellationToken)
    {
        var root = await SendAsync(HttpMethod.Get, $"memories?user_id={Uri.EscapeDataString(RequireUserId(userId))}&top_k={ListTopK}", null, "list", cancellationToken);
        return Mem0Results.Read(root);
    }

    public override Task DeleteAsync(string memoryId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"memories/{Uri.EscapeDataString(RequireMemoryId(memoryId))}", null, "delete", cancellationToken);

    /// <summary>Needs an admin credential on the server (ADMIN_API_KEY).</summary>
    public override Task DeleteAllAsync(string userId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"memories?user_id={Uri.EscapeDataString(RequireUserId(userId))}", null, "delete-all", cancellationToken);
}
