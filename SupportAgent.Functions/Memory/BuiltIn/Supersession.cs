namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>How a newer memory of a user relates to an older one on the same subject.</summary>
public enum SubjectLink : byte
{
    None = 0,

    /// <summary>Likely the same subject: both stay searchable, and the newer one ranks at least as high as the older one, so it comes along with it.</summary>
    Follows = 1,

    /// <summary>Surely the same subject: the newer one replaces the older one, which is still listed but not searched for itself.</summary>
    Replaces = 2,
}

/// <summary>
/// When a newer statement of a user is about the same subject as an older one. Without an LLM to say so, the built-in
/// store judges it from what its index holds: how close the two are in meaning (cosine similarity of their embeddings)
/// and the identifiers they name (an order, invoice or phone number). Close enough to be sure
/// (<see cref="ReplaceFrom"/>, or a shared identifier and <see cref="ReplaceWithSharedIdentifierFrom"/>), the newer one
/// replaces the older one; closer than unrelated statements usually are (<see cref="FollowFrom"/>), it only follows it.
/// Statements that name identifiers but none in common (order #5521, order #5530) never replace each other. The values
/// come from the evaluation (scripts/eval-memory.sh, docs/memory.md), which prints the effect of each.
/// </summary>
public sealed record Supersession(float ReplaceFrom, float ReplaceWithSharedIdentifierFrom, float FollowFrom)
{
    /// <summary>
    /// On the evaluation set, statements on different subjects scored at most 0.58 (99% below 0.38) and statements on
    /// one subject 0.31-0.80 (median 0.58): 0.65 replaces only what is surely the same subject, 0.40 lets most updates
    /// come along with what they update.
    /// </summary>
    public static Supersession Default { get; } = new(0.65f, 0.30f, 0.40f);

    /// <summary>Nothing is ever linked (every statement stands on its own, as before).</summary>
    public static Supersession Never { get; } = new(float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity);

    public SubjectLink Link(IndexedMemory older, IndexedMemory newer, float similarity)
    {
        bool shared = older.SharesIdentifierWith(newer);
        bool differentIdentifiers = !shared && older.Identifiers.Length > 0 && newer.Identifiers.Length > 0;
        if (!differentIdentifiers && similarity >= (shared ? Math.Min(ReplaceFrom, ReplaceWithSharedIdentifierFrom) : ReplaceFrom))
        {
            return SubjectLink.Replaces;
        }
        return similarity >= FollowFrom ? SubjectLink.Follows : SubjectLink.None;
    }
}
