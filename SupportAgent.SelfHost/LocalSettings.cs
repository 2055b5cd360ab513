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
        IConfigurationRoot file;
        try
        {
            file = new ConfigurationBuilder().AddJsonFile(System.IO.Path.GetFullPath(path), optional: false, reloadOnChange: false).Build();
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {ex.InnerException?.Message ?? ex.Message}", ex);
        }

        // Keys use the environment-variable spelling (A__b); IConfiguration uses A:b. Values are flat, as Core Tools reads them.
        var values = file.GetSection("Values").GetChildren()
            .ToDictionary(c => SettingNames.ConfigKey(c.Key), c => c.Value, StringComparer.OrdinalIgnoreCase);
        var host = file.GetSection("Host");
        int? port = int.TryParse(host["LocalHttpPort"], out int parsed) ? parsed : null;
        return new LocalSettings(values, port, host["CORS"], path);
    }
}
