using System.Text.Json;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.SelfHost;

/// <summary>
/// local.settings.json, the file <c>func start</c> reads: its <c>Values</c> become app settings and its
/// <c>Host.LocalHttpPort</c> / <c>Host.CORS</c> the port and allowed origins, so one file serves both hosts.
/// </summary>
public sealed record LocalSettings(IReadOnlyDictionary<string, string?> Values, int? LocalHttpPort, string? Cors, string? Path)
{
    public static readonly LocalSettings Empty = new(new Dictionary<string, string?>(), null, null, null);

    public static LocalSettings Find(params string[] directories)
    {
        foreach (var directory in directories)
        {
            string path = System.IO.Path.Combine(directory, "local.settings.json");
            if (File.Exists(path))
            {
                return Read(path);
            }
        }
        return Empty;
    }

    public static LocalSettings Read(string path)
    {
        using var stream = File.OpenRead(path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            if (document.RootElement.TryGetProperty("Values", out var valuesElement) && valuesElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in valuesElement.EnumerateObject())
                {
                    // Keys use the environment-variable spelling (A__b); IConfiguration uses A:b.
                    values[SettingNames.ConfigKey(property.Name)] = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString(),
                        JsonValueKind.Null => null,
                        _ => property.Value.GetRawText(),
                    };
                }
            }

            int? port = null;
            string? cors = null;
            if (document.RootElement.TryGetProperty("Host", out var host) && host.ValueKind == JsonValueKind.Object)
            {
                if (host.TryGetProperty("LocalHttpPort", out var p) && p.TryGetInt32(out int parsed))
                {
                    port = parsed;
                }
                if (host.TryGetProperty("CORS", out var c) && c.ValueKind == JsonValueKind.String)
                {
                    cors = c.GetString();
                }
            }
            return new LocalSettings(values, port, cors, path);
        }
    }
}
