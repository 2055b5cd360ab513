namespace SupportAgent.Functions.Configuration;

internal static class OptionsChecks
{
    public static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value?.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>A base address with a trailing slash, so relative request paths append to any path prefix it has.</summary>
    public static Uri AsBaseAddress(string url)
    {
        var text = url.Trim();
        return new Uri(text.EndsWith('/') ? text : text + "/", UriKind.Absolute);
    }
}
