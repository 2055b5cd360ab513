using System.Text;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.WebJobs;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using SupportAgent.Functions;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Startup;
using SupportAgent.Functions.Storage;
using SupportAgent.Functions.Telemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

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

    /// <summary>The OpenTelemetry service name (Application Insights' cloud role name) of the self host.</summary>
    public const string ServiceName = "supportagent";


    /// <summary>
    /// Runs the self host; with <c>--check</c>, only checks the settings and prints what scripts/run.sh needs to know
    /// (<c>port=</c>, <c>storage=emulator|account</c> and the emulator's ports). Exit code 2: something to fix first,
    /// said in one line per problem, never a stack trace.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        bool checkOnly = args.Contains(CheckArgument);
        WebApplication app;
        try
        {
            app = Build([.. args.Where(a => a != CheckArgument)], new SelfHostOptions());
        }
        catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException)
        {
            return await CannotStartAsync(ex.Message);
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

        int port = app.Services.GetRequiredService<SelfHostEndpoint>().Port;
        if (checkOnly)
        {
            await Console.Out.WriteAsync(CheckReport(app.Services, port));
            return 0;
        }
        if (port != 0 && !IsFree(port))
        {
            return await CannotStartAsync(PortInUse(port));
        }

        var startup = app.Services.GetRequiredService<StartupWork>();
        _ = startup.WarmUpAsync(); // side by side with the storage calls and the queue listener's start; the server waits for it
        // The host builds every hosted service (the WebJobs host's whole graph among them) before it starts any: build
        // them beside the storage calls and the warm-up too. The host then finds them built (a failure is its to report).
        _ = Task.Run(() => app.Services.GetServices<IHostedService>().Count());
        try
        {
            // Nothing is in flight yet: Ctrl-C or SIGTERM here simply ends the process.
            await startup.EnsureStorageAsync(CancellationToken.None);
        }
        catch (StorageUnavailableException ex)
        {
            return await CannotStartAsync(ex.Message);
        }

        try
        {
            await app.RunAsync();
        }
        catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            return await CannotStartAsync(PortInUse(port)); // taken between the check above and the bind
        }
        return 0;
    }

    /// <summary>
    /// The memory-writes queue, its poison queue and payload container exist, and the chat path is warmed up: what a
    /// real start does before serving (tests call this). Throws <see cref="StorageUnavailableException"/> when the
    /// storage account cannot be used.
    /// </summary>
    public static Task PrepareAsync(WebApplication app, CancellationToken cancellationToken) =>
        app.Services.GetRequiredService<StartupWork>().PrepareAsync(cancellationToken);

    private const string CheckArgument = "--check";

    private static async Task<int> CannotStartAsync(string problem)
    {
        await Console.Error.WriteLineAsync($"SupportAgent cannot start: {problem}");
        return 2;
    }

    private static string PortInUse(int port) =>
        $"port {port} on 127.0.0.1 is already in use (is SupportAgent already running?). Set {SettingNames.SelfHostPort} to another port, e.g. {SettingNames.SelfHostPort}={(port == 65535 ? 7072 : port + 1)}.";

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static string CheckReport(IServiceProvider services, int port)
    {
        var (queue, blob, table) = services.GetRequiredService<StorageClients>().Endpoints();
        var report = new StringBuilder().Append("port=").Append(port).Append('\n');
        if (queue.IsLoopback && blob.IsLoopback && table is { IsLoopback: true })
        {
            report.Append("storage=emulator\n")
                  .Append("blob-port=").Append(blob.Port).Append('\n')
                  .Append("queue-port=").Append(queue.Port).Append('\n')
                  .Append("table-port=").Append(table.Port).Append('\n');
        }
        else
        {
            report.Append("storage=account\n");
        }
        return report.ToString();
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
        // The banner below says where it listens and what it uses; the hosts' own start-up lines would only repeat it.
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Logging.AddFilter("Host.Startup", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Azure.WebJobs.Hosting.JobHostService", LogLevel.Warning);
        int port = builder.Configuration.GetValue<int?>(SettingNames.SelfHostPort) ?? local.LocalHttpPort ?? DefaultPort;
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddSingleton(new SelfHostEndpoint(port));
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(30);
            // The queue listener and the web server start side by side (the queues exist by then, the server waits for
            // the warm-up): the port opens sooner. They still stop one after the other, the server first.
            o.ServicesStartConcurrently = true;
        });

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

        builder.Services.AddSingleton(hostJson);
        builder.Services.AddSupportAgent(builder.Configuration);
        builder.Services.AddSupportAgentTelemetry(builder.Configuration, otel =>
        {
            // The Functions host names the worker's service; here it is this app, unless OTEL_SERVICE_NAME says otherwise.
            if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]))
            {
                otel.ConfigureResource(r => r.AddService(ServiceName));
            }
            // The request's server span, continuing the caller's traceparent: what the Functions host does for the worker.
            otel.WithTracing(t => t.AddAspNetCoreInstrumentation());
        });
        builder.Services.AddMvcCore(); // executes the functions' IActionResult results, as the Functions ASP.NET Core integration does
        // Every error is problem+json, also the ones routing answers itself: 404 for an unknown route, 405 for a method.
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c => DescribeRoutingProblem(c.ProblemDetails, c.HttpContext));
        WarmingServer.Register(builder.Services, $"/{hostJson.RoutePrefix}/chat");
        builder.Services.AddTransient<MemoryWriterFunction>();
        builder.Services.AddTransient<MemoryWriterJob>();

        if (options.RunQueueListener)
        {
            AddQueueListener(builder, hostJson.Queues);
        }

        options.Customize?.Invoke(builder);
        var app = builder.Build();
        app.UseStatusCodePages();
        app.UseCors();
        app.UseDefaultFiles(); // the chat page at /
        app.UseStaticFiles();
        var routes = app.MapHttpFunctions(typeof(ChatFunction).Assembly, hostJson.RoutePrefix);
        app.Services.GetRequiredService<SelfHostEndpoint>().Routes = routes;

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SupportAgent.SelfHost");
            foreach (var notice in notices)
            {
                log.LogWarning("{Notice}", notice);
            }
            var model = app.Services.GetRequiredService<IOptions<ModelOptions>>().Value;
            var store = app.Services.GetRequiredService<IOptions<MemoryStoreOptions>>().Value;
            var memory = app.Services.GetRequiredService<IOptions<MemoryOptions>>().Value;
            log.LogInformation(
                "SupportAgent on {Urls}: {Page}{Routes}" + Environment.NewLine + "model: {Model}; memory: {Memory}; storage: {Storage}, queue {Queue}" +
                Environment.NewLine + "settings file: {SettingsFile}; CORS origins: {Origins}. Ctrl-C stops it.",
                string.Join(", ", app.Urls), app.Environment.WebRootFileProvider.GetFileInfo("index.html").Exists ? "the chat page at /; " : "",
                string.Join("; ", routes), SelfHostBanner.Model(model), SelfHostBanner.Memory(store),
                SelfHostBanner.Storage(app.Services.GetRequiredService<StorageClients>()), memory.QueueName,
                local.Path ?? "(none)", origins.Length == 0 ? "(none)" : string.Join(",", origins));
        });
        return app;
    }

    /// <summary>
    /// What a developer's machine lacks but a deployment never does: storage defaults to the local emulator. (Memory
    /// needs no default here: without Mem0 settings both hosts use the built-in store, and say so at start.)
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
        if (defaults.Count > 0)
        {
            configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = defaults });
        }
        return notices;
    }

    private static void DescribeRoutingProblem(ProblemDetails problem, HttpContext context)
    {
        var request = context.Request;
        if (problem.Status == StatusCodes.Status404NotFound)
        {
            var routes = context.RequestServices.GetRequiredService<SelfHostEndpoint>().Routes;
            problem.Detail = $"Nothing is served at {request.Method} {request.Path}. The routes are: {string.Join("; ", routes)}.";
        }
        else if (problem.Status == StatusCodes.Status405MethodNotAllowed)
        {
            problem.Detail = $"{request.Path} does not accept {request.Method}; use {context.Response.Headers.Allow}.";
        }
    }

    /// <summary>The WebJobs SDK queue listener with host.json's queue settings, exactly what the Functions host configures.</summary>
    private static void AddQueueListener(WebApplicationBuilder builder, QueueTriggerSettings settings)
    {
        // The listener logs every failed try twice, with its stack trace (Function.MemoryWriter and Host.Results), and
        // the move to the poison queue as a warning: the writer itself logs each try in one line, and the last one's move.
        builder.Logging.AddFilter("Function.MemoryWriter", LogLevel.None);
        builder.Logging.AddFilter("Host.Results", LogLevel.None);
        builder.Logging.AddFilter("Microsoft.Azure.WebJobs.Host.Queues.QueueProcessor", LogLevel.Error);
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

        // Storage outages: the listener's clients (the WebJobs extension builds them through Microsoft.Extensions.Azure)
        // carry the app's reachability policy, and its background faults of that kind no longer end the process.
        // Its own per-poll warning would repeat every few seconds; the policy logs the outage once.
        builder.Services.AddAzureClients(clients => clients.ConfigureDefaults((o, services) =>
            o.AddPolicy(services.GetRequiredService<StorageReachability>(), Azure.Core.HttpPipelinePosition.PerCall)));
        builder.Services.AddSingleton<Microsoft.Azure.WebJobs.Host.Timers.IWebJobsExceptionHandlerFactory, ListenerFaultHandlerFactory>();
        builder.Logging.AddFilter("Microsoft.Azure.WebJobs.Extensions.Storage.Common.Listeners.QueueListener", LogLevel.Error);
        builder.Services.AddHostedService<QueueDrainOnStop>();
    }
}

/// <summary>Where the self host listens (0: any free port) and the routes it serves, for messages and checks.</summary>
internal sealed class SelfHostEndpoint(int port)
{
    public int Port { get; } = port;

    public IReadOnlyList<string> Routes { get; set; } = [];
}

/// <summary>Limits WebJobs function discovery to the queue-triggered adapters of this host.</summary>
internal sealed class ExplicitTypeLocator(params Type[] types) : Microsoft.Azure.WebJobs.ITypeLocator
{
    public IReadOnlyList<Type> GetTypes() => types;
}
