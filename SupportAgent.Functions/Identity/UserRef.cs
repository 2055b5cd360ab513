using System.Security.Cryptography;
using System.Text;

namespace SupportAgent.Functions.Identity;

/// <summary>
/// A user id as the service keeps it outside the memory store itself: one SHA-256 of the id, never the id (ids are
/// often e-mail addresses, which are personal data). <see cref="For"/> is the short reference in logs and telemetry;
/// <see cref="Key"/> the whole hash, a key where a user id cannot go (the built-in store's partitions, the erasure
/// table). The same user always gets the same values, so log lines and rows can still be correlated.
/// </summary>
public static class UserRef
{
    /// <summary>"u_" + the first 12 hex digits of the hash: enough to tell users apart in logs.</summary>
    public static string For(string userId) => "u_" + Hash(userId, 6);

    /// <summary>The whole hash, 64 lowercase hex digits: valid as a table partition or row key whatever the id holds.</summary>
    public static string Key(string userId) => Hash(userId, 32);

    private static string Hash(string userId, int bytes)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(userId), hash);
        return Convert.ToHexStringLower(hash[..bytes]);
    }
}
