using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Http;
using SupportAgent.Functions.Identity;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// GET/DELETE /api/users/{userId}/memories: for an operator's backend (function key), to answer access and erasure
/// requests that arrive by other channels. The user id is any id /api/chat accepts, or a signed-in user's "idp:..." id.
/// </summary>
public sealed class UserMemoriesFunctions(UserMemories memories, ILogger<UserMemoriesFunctions> logger)
{
    [Function("ListUserMemories")]
    public async Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "users/{userId}/memories")] HttpRequest req,
        string userId,
        CancellationToken cancellationToken)
    {
        var (pageSize, next, problem) = MemoryRoutes.ReadPaging(req);
        problem ??= InvalidUserId(userId);
        return problem ?? await MemoryRoutes.RunAsync(logger, "list", async () =>
            MemoryRoutes.List(await memories.ListAsync(userId, pageSize, next, cancellationToken)));
    }

    [Function("ForgetUser")]
    public async Task<IActionResult> DeleteAll(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = "users/{userId}/memories")] HttpRequest req,
        string userId,
        CancellationToken cancellationToken)
    {
        return InvalidUserId(userId) ?? await MemoryRoutes.RunAsync(logger, "forget", async () =>
        {
            await memories.ForgetAsync(userId, cancellationToken);
            return new NoContentResult();
        });
    }

    private static ObjectResult? InvalidUserId(string userId) =>
        MemoryUserId.Problem(userId, maxLength: SignedInUserId.IsReserved(userId) ? SignedInUserId.MaxLength : MemoryUserId.MaxLength) is { } problem
            ? ProblemResult.InvalidField("userId", problem)
            : null;
}
