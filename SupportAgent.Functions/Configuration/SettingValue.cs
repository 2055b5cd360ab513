using System.Diagnostics.CodeAnalysis;

namespace SupportAgent.Functions.Configuration;

/// <summary>
/// Whether a setting holds a real value. Example files and tutorials ship placeholders such as "sk-...", "m0-..." or
/// "&lt;your key&gt;": copied unchanged they must read as "not set", never as a key to send.
/// </summary>
public static class SettingValue
{
    public static bool IsSet([NotNullWhen(true)] string? value)
    {
        string text = value?.Trim() ?? "";
        return text.Length > 0
            && !text.Contains("...", StringComparison.Ordinal)
            && !text.Contains('…', StringComparison.Ordinal)
            && !(text.StartsWith('<') && text.EndsWith('>'));
    }

    /// <summary>The trimmed value when it is set, otherwise null.</summary>
    public static string? OrNull(string? value) => IsSet(value) ? value.Trim() : null;
}
