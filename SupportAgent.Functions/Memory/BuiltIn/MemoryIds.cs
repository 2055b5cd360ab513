using System.Security.Cryptography;
using System.Text;

namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>
/// A memory's id, which is also its row key: "m", 16 hex digits of (max ticks − the exchange's time), so row keys and
/// ids sort newest first, then 16 hex digits of a hash of the exchange id and the turn's position. The same turn of
/// the same exchange always gets the same id, so a redelivered queue message rewrites a memory instead of adding one.
/// </summary>
public static class MemoryIds
{
    public const int ByteLength = 16;
    private const char Prefix = 'm';
    private const int Length = 1 + 2 * ByteLength;

    /// <summary>Row keys of memories are "m" + 32 hex digits; the index row ("index") sorts apart from them.</summary>
    public const string RangeStart = "m";
    public const string RangeEnd = "n";

    public static string For(DateTimeOffset createdAt, string exchangeId, int turnIndex)
    {
        Span<byte> bytes = stackalloc byte[ByteLength];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes, DateTimeOffset.MaxValue.UtcTicks - createdAt.UtcTicks);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{exchangeId}/{turnIndex}"), hash);
        hash[..8].CopyTo(bytes[8..]);
        return Prefix + Convert.ToHexStringLower(bytes);
    }

    public static bool IsValid(string? id) =>
        id is { Length: Length } && id[0] == Prefix && id.AsSpan(1).ContainsAnyExcept("0123456789abcdef") == false;

    /// <summary>When the memory was said, from its id.</summary>
    public static DateTimeOffset CreatedAt(string id) =>
        new(DateTimeOffset.MaxValue.UtcTicks - Convert.ToInt64(id.Substring(1, 16), 16), TimeSpan.Zero);

    internal static void Write(string id, Span<byte> target) => Convert.FromHexString(id.AsSpan(1), target, out _, out _);

    internal static string Read(ReadOnlySpan<byte> source) => Prefix + Convert.ToHexStringLower(source);
}
