namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>
/// The links between a user's memories on one subject, resolved: for each linked memory, the memory that is current on
/// its subject (the end of its chain of newer memories that still exist), and which memories a newer one replaces. A
/// memory whose newer one was deleted is current again.
/// </summary>
public sealed class SubjectChains
{
    private static readonly SubjectChains None = new(new Dictionary<string, string>(), new HashSet<string>());

    private SubjectChains(Dictionary<string, string> current, HashSet<string> replaced)
    {
        CurrentOf = current;
        Replaced = replaced;
    }

    /// <summary>Linked memory id → the id of the memory that is current on its subject (only for memories that are not current themselves).</summary>
    public IReadOnlyDictionary<string, string> CurrentOf { get; }

    /// <summary>Ids of memories a newer one replaces: listed, but not searched for themselves.</summary>
    public IReadOnlySet<string> Replaced { get; }

    /// <summary>The current memory that replaces this one, or null when nothing does.</summary>
    public string? ReplacedBy(string id) => Replaced.Contains(id) ? CurrentOf[id] : null;

    public static SubjectChains Of(IReadOnlyList<IndexedMemory> items)
    {
        if (!items.Any(i => i.NewerId is not null))
        {
            return None;
        }
        var byId = items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var current = new Dictionary<string, string>(StringComparer.Ordinal);
        var replaced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var head = item;
            // Links always point at a strictly newer memory, so a chain ends; the bound only guards a corrupted row.
            for (int steps = 0; steps < items.Count && head.NewerId is { } next && byId.TryGetValue(next, out var newer); steps++)
            {
                head = newer;
            }
            if (!ReferenceEquals(head, item))
            {
                current[item.Id] = head.Id;
                if (item.Link == SubjectLink.Replaces && byId.ContainsKey(item.NewerId!))
                {
                    replaced.Add(item.Id);
                }
            }
        }
        return new SubjectChains(current, replaced);
    }
}
