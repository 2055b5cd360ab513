namespace SupportAgent.Functions.Memory;

/// <summary>
/// Memory is scoped by user id alone, and Mem0 reads "*" (or nothing) as every user: every memory store refuses such
/// ids before any call.
/// </summary>
public static class MemoryUserId
{
    public static string Require(string userId)
    {
        if (string.IsNullOrWhiteSpace(userId) || userId.Contains('*', StringComparison.Ordinal))
        {
            throw new ArgumentException("A memory call needs one concrete user id; empty and wildcard ids are refused.", nameof(userId));
        }
        return userId;
    }
}
