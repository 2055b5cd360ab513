using Microsoft.Extensions.Configuration;

namespace SupportAgent.Functions.Configuration;

/// <summary>The queue trigger settings of host.json's <c>extensions.queues</c>, with the Functions runtime's defaults.</summary>
public sealed class QueueTriggerSettings
{
    public int BatchSize { get; set; } = 16;
    public int NewBatchThreshold { get; set; } = -1;
    public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromMinutes(1);
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.Zero;
    public int MaxDequeueCount { get; set; } = 5;
    public string MessageEncoding { get; set; } = "base64";
}

/// <summary>
/// Reads the same host.json the Functions host reads, so the self host serves the same routes and retries queue
/// messages the same way, and the memory writer knows which try is the last. Like the Functions host, app settings named <c>AzureFunctionsJobHost__path__to__value</c>
/// override single host.json values (for example <c>AzureFunctionsJobHost__extensions__queues__maxDequeueCount</c>).
/// </summary>
public sealed class HostJson
{
    public const string OverridePrefix = "AzureFunctionsJobHost";

    public required string RoutePrefix { get; init; }

    public required QueueTriggerSettings Queues { get; init; }

    /// <summary>host.json's <c>logging</c> section: its <c>logLevel</c> map uses the same category prefixes as ILogger filters.</summary>
    public required IConfigurationSection Logging { get; init; }

    /// <summary>Where both hosts find host.json: next to the app (the build copies it there).</summary>
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "host.json");

    public static HostJson Load(string path, IConfiguration appSettings)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"host.json was not found at {path}; it is copied next to the app when the project builds.", path);
        }
        var file = new ConfigurationBuilder().AddJsonFile(path, optional: false).Build();
        var overrides = appSettings.GetSection(OverridePrefix);
        var merged = new ConfigurationBuilder().AddConfiguration(file).AddConfiguration(overrides).Build();

        var queues = new QueueTriggerSettings();
        merged.GetSection("extensions:queues").Bind(queues);
        string routePrefix = merged["extensions:http:routePrefix"] ?? "api";
        return new HostJson { RoutePrefix = routePrefix.Trim('/'), Queues = queues, Logging = merged.GetSection("logging") };
    }
}
