namespace SupportAgent.Functions.Memory;

/// <summary>
/// Memory is scoped by user id alone, and Mem0 reads "*" (or nothing) as every user: every memory store refuses such
/// ids before any call.
/// </summary>
public static class MemoryUserId
{
    public const int MaxLength = 128;

    /// <summary>
    /// What is wrong with a user id that comes from outside (a request body or an operator's route), or null when it is
    /// usable. Ids of signed-in users are made by the service itself and are not checked here.
    /// </summary>
    public static string? Problem(string userId, string field = "userId", int maxLength = MaxLength)
    {
        if (string.IsNullOrWhiteSpace(userId))
        {
            return $"{field} must not be blank.";
        }
        if (userId.Length > maxLength)
        {
            return $"{field} must be at most {maxLength} characters.";
        }
        if (userId.Any(char.IsControl))
        {
            return $"{field} must not contain control characters.";
        }
        if (userId.Contains('*', StringComparison.Ordinal))
        {
            // Mem0 reads "*" as "all users": no id that could act as a wildcard may scope a search or a write.
            return $"{field} must not contain \"*\".";
        }
        if (userId != userId.Trim())
        {
            return $"{field} must not start or end with white space.";
        }
        return null;
    }

    public static string Require(string userId)
    {
        if (string.IsNullOrWhiteSpace(userId) || userId.Contains('*', StringComparison.Ordinal))
        {
            throw new ArgumentException("A memory call needs one concrete user id; empty and wildcard ids are refused.", nameof(userId));
        }
        return userId;
    }
}
