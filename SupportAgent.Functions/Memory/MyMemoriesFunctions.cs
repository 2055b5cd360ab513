using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Identity;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// GET/DELETE /api/me/memories and DELETE /api/me/memories/{id}: the signed-in user sees and erases what the service
/// remembers about them. Anonymous at the Functions level: <see cref="SignedInUsers"/> decides who is calling.
/// </summary>
public sealed class MyMemoriesFunctions(SignedInUsers signedInUsers, UserMemories memories, ILogger<MyMemoriesFunctions> logger)
{
    [Function("ListMyMemories")]
    public async Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me/memories")] HttpRequest req,
        CancellationToken cancellationToken)
    {
        return await signedInUsers.AsSignedInUserAsync(req, async userId =>
        {
            var (pageSize, next, problem) = MemoryRoutes.ReadPaging(req);
            return problem ?? await MemoryRoutes.RunAsync(logger, "list", async () =>
                MemoryRoutes.List(await memories.ListAsync(userId, pageSize, next, cancellationToken)));
        }, cancellationToken);
    }

    [Function("DeleteMyMemory")]
    public async Task<IActionResult> DeleteOne(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "me/memories/{id}")] HttpRequest req,
        string id,
        CancellationToken cancellationToken)
    {
        // Another user's memory id is "not found", exactly like an id that does not exist: nothing leaks about others.
        return await signedInUsers.AsSignedInUserAsync(req, userId => MemoryRoutes.RunAsync(logger, "delete", async () =>
            await memories.DeleteAsync(userId, id, cancellationToken) ? new NoContentResult() : MemoryRoutes.NotFound()), cancellationToken);
    }

    [Function("ForgetMe")]
    public async Task<IActionResult> DeleteAll(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "me/memories")] HttpRequest req,
        CancellationToken cancellationToken)
    {
        return await signedInUsers.AsSignedInUserAsync(req, userId => MemoryRoutes.RunAsync(logger, "forget", async () =>
        {
            await memories.ForgetAsync(userId, cancellationToken);
            return new NoContentResult();
        }), cancellationToken);
    }
}
