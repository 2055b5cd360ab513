using Azure.Storage.Queues;
using Microsoft.Azure.WebJobs;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using SupportAgent.Functions;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.Local;
using SupportAgent.Functions.Memory.Mem0;

namespace SupportAgent.SelfHost;

/// <summary>How to build the self host; tests pass explicit settings and no settings file.</summary>
public sealed class SelfHostOptions
{
    /// <summary>Folders searched, in order, for local.settings.json: the folder the host is started in (the top level, by scripts/run.sh).</summary>
    public IReadOnlyList<string> LocalSettingsDirectories { get; init; } = [Directory.GetCurrentDirectory()];

    /// <summary>Settings that win over everything else.</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();

    public string HostJsonPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "host.json");

    /// <summary>Last changes to the builder (tests add log capture here).</summary>
    public Action<WebApplicationBuilder>? Customize { get; init; }

    /// <summary>The chat page's files (web/ in the repository, copied next to the app as wwwroot when it builds).</summary>
    public string WebRoot { get; init; } = Path.Combine(AppContext.BaseDirectory, "wwwroot");

    /// <summary>Off in tests that inspect the queue itself; on in every real run.</summary>
    public bool RunQueueListener { get; init; } = true;
}

/// <summary>
/// Runs the function app without Azure Functions Core Tools: ASP.NET Core serves the HTTP functions and the WebJobs
/// SDK (what the Functions host runs) drives the queue-triggered memory writer, all from the same composition.
/// </summary>
public static class SelfHostApp
{
    public const int DefaultPort = 7071;

    public static async Task<int> RunAsync(string[] args)
    {
        WebApplication app;
        try
        {
            app = Build(args, new SelfHostOptions());
        }
        catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException)
        {
            await Console.Error.WriteLineAsync($"SupportAgent cannot start: {ex.Message}");
            return 2;
        }

        var problems = SettingsCheck.FindProblems(app.Services);
        if (problems.Count > 0)
        {
            await Console.Error.WriteLineAsync("SupportAgent cannot start; fix these settings (environment variables or local.settings.json \"Values\"):");
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync("  - " + problem);
            }
            return 2;
        }

        await app.RunAsync();
        return 0;
    }

    public static WebApplication Build(string[] args, SelfHostOptions options)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = options.WebRoot,
        });

        // Lowest first: defaults, then local.settings.json, then what the builder already has (environment, command line).
        var local = LocalSettings.Find([.. options.LocalSettingsDirectories]);
        var defaults = new Dictionary<string, string?>
        {
            // The trigger binds %MEMORY_QUEUE_NAME%; the Functions host needs the setting, here it has a default.
            [SettingNames.MemoryQueueName] = MemoryOptions.DefaultQueueName,
        };
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = local.Values });
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = defaults });
        builder.Configuration.AddInMemoryCollection(options.Overrides);
        var notices = ApplyDevelopmentDefaults(builder.Configuration);

        var hostJson = HostJson.Load(options.HostJsonPath, builder.Configuration);
        builder.Logging.AddConfiguration(hostJson.Logging);
        int port = builder.Configuration.GetValue<int?>(SettingNames.SelfHostPort) ?? local.LocalHttpPort ?? DefaultPort;
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        string[] origins = (builder.Configuration[SettingNames.CorsAllowedOrigins] ?? local.Cors ?? "")
            .Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Credentials (cookies) only for named origins: browsers refuse them with "*" anyway.
        bool credentials = builder.Configuration.GetValue<bool?>(SettingNames.CorsSupportCredentials) == true && !origins.Contains("*");
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
        {
            if (origins.Contains("*"))
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins(origins);
            }
            policy.AllowAnyHeader().AllowAnyMethod();
            if (credentials)
            {
                policy.AllowCredentials();
            }
        }));

        builder.Services.AddSupportAgent(builder.Configuration);
        builder.Services.AddMvcCore(); // executes the functions' IActionResult results, as the Functions ASP.NET Core integration does
        builder.Services.AddTransient<MemoryWriterFunction>();
        builder.Services.AddTransient<MemoryWriterJob>();

        if (options.RunQueueListener)
        {
            AddQueueListener(builder, hostJson.Queues);
        }

        options.Customize?.Invoke(builder);
        var app = builder.Build();
        app.UseCors();
        app.UseDefaultFiles(); // the chat page at /
        app.UseStaticFiles();
        var routes = app.MapHttpFunctions(typeof(ChatFunction).Assembly, hostJson.RoutePrefix);

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SupportAgent.SelfHost");
            foreach (var notice in notices)
            {
                log.LogWarning("{Notice}", notice);
            }
            var model = app.Services.GetRequiredService<IOptions<ModelOptions>>().Value;
            var mem0 = app.Services.GetRequiredService<IOptions<Mem0Options>>().Value;
            var memory = app.Services.GetRequiredService<IOptions<MemoryOptions>>().Value;
            log.LogInformation("SupportAgent self host on {Urls}: {Routes}; model {Provider} {Model}; Mem0 {Mem0Api} at {Mem0Url}; queue {Queue}; settings file {SettingsFile}; CORS origins {Origins}",
                string.Join(", ", app.Urls), string.Join("; ", routes), model.Provider, model.Provider == ModelProvider.AzureOpenAi ? model.AzureDeployment : model.ModelName,
                mem0.Api, mem0.BaseAddress, memory.QueueName, local.Path ?? "(none)", origins.Length == 0 ? "(none)" : string.Join(",", origins));
        });
        return app;
    }

    /// <summary>
    /// What a developer's machine lacks but a deployment never does: storage defaults to the local emulator, and with
    /// no Mem0 settings at all memory uses the local store instead of failing. The Functions app has no such defaults.
    /// </summary>
    private static List<string> ApplyDevelopmentDefaults(ConfigurationManager configuration)
    {
        var notices = new List<string>();
        var defaults = new Dictionary<string, string?>();
        var storage = configuration.GetSection(SettingNames.Storage);
        if (string.IsNullOrWhiteSpace(storage.Value) && !storage.GetChildren().Any())
        {
            defaults[SettingNames.Storage] = "UseDevelopmentStorage=true";
            notices.Add($"{SettingNames.Storage} is not set: using the local storage emulator (Azurite on 127.0.0.1:10000-10002).");
        }
        if (new[] { SettingNames.Mem0Api, SettingNames.Mem0ApiKey, SettingNames.Mem0BaseUrl }.All(k => string.IsNullOrWhiteSpace(configuration[k])))
        {
            defaults[SettingNames.Mem0Api] = "local";
            notices.Add($"No Mem0 settings ({SettingNames.Mem0ApiKey}, {SettingNames.Mem0BaseUrl}): memories are kept by the local store in the storage account (table '{LocalMemoryStore.TableName}'). Set {SettingNames.Mem0ApiKey} to use Mem0.");
        }
        if (defaults.Count > 0)
        {
            configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = defaults });
        }
        return notices;
    }

    /// <summary>The WebJobs SDK queue listener with host.json's queue settings, exactly what the Functions host configures.</summary>
    private static void AddQueueListener(WebApplicationBuilder builder, QueueTriggerSettings settings)
    {
        builder.Host.ConfigureWebJobs(webJobs => webJobs.AddAzureStorageQueues(q =>
        {
            q.BatchSize = settings.BatchSize;
            q.NewBatchThreshold = settings.NewBatchThreshold;
            q.MaxPollingInterval = settings.MaxPollingInterval;
            q.VisibilityTimeout = settings.VisibilityTimeout;
            q.MaxDequeueCount = settings.MaxDequeueCount;
            q.MessageEncoding = string.Equals(settings.MessageEncoding, "none", StringComparison.OrdinalIgnoreCase)
                ? QueueMessageEncoding.None
                : QueueMessageEncoding.Base64;
        }));
        builder.Services.AddSingleton<Microsoft.Azure.WebJobs.ITypeLocator>(new ExplicitTypeLocator(typeof(MemoryWriterJob)));
    }
}

/// <summary>Limits WebJobs function discovery to the queue-triggered adapters of this host.</summary>
internal sealed class ExplicitTypeLocator(params Type[] types) : Microsoft.Azure.WebJobs.ITypeLocator
{
    public IReadOnlyList<Type> GetTypes() => types;
}
