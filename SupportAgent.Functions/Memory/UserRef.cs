using System.Security.Cryptography;
using System.Text;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// A stable, non-reversible stand-in for a user id in logs: ids are often e-mail addresses, which are personal data.
/// The same user always gets the same reference, so log lines can still be correlated.
/// </summary>
public static class UserRef
{
    public static string For(string userId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(userId), hash);
        return "u_" + Convert.ToHexStringLower(hash[..6]);
    }
}
