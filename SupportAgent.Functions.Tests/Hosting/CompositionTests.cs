using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.BuiltIn;
using SupportAgent.Functions.Memory.Mem0;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Tests.Hosting;

/// <summary>The function app's real composition (Program.cs's calls), built without the Functions host.</summary>
public sealed class CompositionTests
{
    private static Dictionary<string, string?> Complete() => new()
    {
        ["OPENAI_API_KEY"] = "sk-test",
        ["MEM0_API_KEY"] = "m0-test",
        ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        ["MEMORY_QUEUE_NAME"] = "memory-writes",
    };

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = FunctionsApplication.CreateBuilder([]);
        builder.Configuration.Sources.Clear(); // only the settings under test, not this machine's environment
        builder.Configuration.AddInMemoryCollection(settings);
        builder.ConfigureFunctionsWebApplication();
        builder.Services.AddSupportAgent(builder.Configuration);
        builder.Services.AddSupportAgentTelemetry(builder.Configuration, otel => otel.UseFunctionsWorkerDefaults());
        return builder.Build();
    }

    // A Mem0 add outage (seen by the queue writer) opened the one shared circuit breaker and so stopped the chat path's
    // searches too (benchmark scenario e: 27% of replies without memories); searches now have a pipeline of their own.
    [Theory]
    [InlineData("http://mem0.test/v3/memories/search/", "search")]
    [InlineData("http://mem0.test/search", "search")]
    [InlineData("http://mem0.test/v3/memories/add/", "other")]
    [InlineData("http://mem0.test/memories", "other")]
    [InlineData("http://mem0.test/v1/memories/?user_id=u1", "other")]
    public void Mem0_searches_have_a_resilience_pipeline_of_their_own(string url, string key) =>
        Assert.Equal(key, ServiceRegistration.Mem0PipelineKey(new HttpRequestMessage(HttpMethod.Post, url)));

    [Fact]
    public void A_complete_configuration_builds_every_function_and_service()
    {
        using var host = Build(Complete());

        Assert.Empty(SettingsCheck.FindProblems(host.Services));
        using var scope = host.Services.CreateScope();
        Assert.NotNull(ActivatorUtilities.CreateInstance<ChatFunction>(scope.ServiceProvider));
        Assert.NotNull(ActivatorUtilities.CreateInstance<MemoryWriterFunction>(scope.ServiceProvider));
        Assert.IsType<Mem0PlatformClient>(scope.ServiceProvider.GetRequiredService<IMemoryStore>());
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<Microsoft.Extensions.AI.IChatClient>());
    }

    [Theory]
    [InlineData("MEMORY_STORE=mem0-platform", typeof(Mem0PlatformClient))]
    [InlineData("MEMORY_STORE=mem0-server", typeof(Mem0ServerClient))]
    [InlineData("MEMORY_STORE=builtin", typeof(BuiltInMemoryStore))]
    [InlineData("MEM0_API=platform", typeof(Mem0PlatformClient))]
    [InlineData("MEM0_API=server", typeof(Mem0ServerClient))]
    [InlineData("MEM0_API=local", typeof(BuiltInMemoryStore))]
    [InlineData("MEMORY_STORE=builtin;MEM0_API=server", typeof(BuiltInMemoryStore))] // the new setting wins
    public void The_store_setting_or_the_older_MEM0_API_selects_the_store(string changes, Type expected)
    {
        var settings = Apply(Complete(), changes);
        settings["MEM0_BASE_URL"] = "http://localhost:8888";
        using var host = Build(settings);

        Assert.Empty(SettingsCheck.FindProblems(host.Services));
        Assert.IsType(expected, host.Services.GetRequiredService<IMemoryStore>());
    }

    [Theory]
    [InlineData("no Mem0 setting at all", "MEM0_API_KEY=")]
    [InlineData("the example file's placeholders", "MEM0_API_KEY=m0-...;MEM0_BASE_URL=https://api.mem0.ai")]
    [InlineData("a placeholder in angle brackets", "MEM0_API_KEY=<your mem0 key>")]
    [InlineData("empty values", "MEMORY_STORE=;MEM0_API=;MEM0_API_KEY=;MEM0_BASE_URL=")]
    public void Without_a_real_Mem0_setting_the_built_in_store_is_used(string why, string changes)
    {
        using var host = Build(Apply(Complete(), changes));

        var problems = SettingsCheck.FindProblems(host.Services);
        Assert.True(problems.Count == 0, why + ": " + string.Join(" | ", problems));
        Assert.IsType<BuiltInMemoryStore>(host.Services.GetRequiredService<IMemoryStore>());
        // Nothing is loaded for it until the host starts (then in the background) or the first search.
        Assert.False(((MiniLmEmbeddingGenerator)host.Services.GetRequiredService<Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>>()).IsLoaded);
    }

    [Theory]
    [InlineData("Azure OpenAI with a key", "AZURE_OPENAI_ENDPOINT=https://x.openai.azure.com/;AZURE_OPENAI_DEPLOYMENT=gpt;AZURE_OPENAI_API_KEY=k;OPENAI_API_KEY=")]
    [InlineData("Azure OpenAI with Entra ID", "AZURE_OPENAI_ENDPOINT=https://x.openai.azure.com/;AZURE_OPENAI_DEPLOYMENT=gpt;OPENAI_API_KEY=")]
    [InlineData("an OpenAI-compatible server without a key", "OPENAI_BASE_URL=http://localhost:11434/v1;OPENAI_API_KEY=")]
    [InlineData("identity-based storage", "AzureWebJobsStorage=;AzureWebJobsStorage:accountName=mystorage")]
    [InlineData("the token limits left empty, as the Bicep writes them", "MODEL_CONTEXT_TOKENS=;PROMPT_TOKEN_BUDGET=3000;MAX_OUTPUT_TOKENS=1024")]
    [InlineData("the smallest prompt budget, with the default instructions", "PROMPT_TOKEN_BUDGET=500")]
    [InlineData("the self-hosted Mem0 server without a key", "MEM0_API=server;MEM0_BASE_URL=http://localhost:8888;MEM0_API_KEY=")]
    public void Other_complete_configurations_build(string why, string changes)
    {
        using var host = Build(Apply(Complete(), changes));

        var problems = SettingsCheck.FindProblems(host.Services);
        Assert.True(problems.Count == 0, why + ": " + string.Join(" | ", problems));
        Assert.NotNull(host.Services.GetRequiredService<Microsoft.Extensions.AI.IChatClient>());
    }

    [Theory]
    [InlineData("OPENAI_API_KEY=", "OPENAI_API_KEY")]
    [InlineData("MEMORY_STORE=mem0-platform;MEM0_API_KEY=", "MEM0_API_KEY")]
    [InlineData("MEM0_API=platform;MEM0_API_KEY=m0-...", "MEM0_API_KEY")]
    [InlineData("MEMORY_STORE=mem0-server;MEM0_API_KEY=", "MEM0_BASE_URL")]
    [InlineData("MEMORY_STORE=mem0", "MEMORY_STORE")]
    [InlineData("MEM0_API_KEY=;MEM0_BASE_URL=http://localhost:8888", "MEMORY_STORE")]
    [InlineData("AzureWebJobsStorage=", "AzureWebJobsStorage")]
    [InlineData("AZURE_OPENAI_ENDPOINT=https://x.openai.azure.com/", "AZURE_OPENAI_DEPLOYMENT")]
    [InlineData("AZURE_OPENAI_DEPLOYMENT=gpt", "AZURE_OPENAI_ENDPOINT")]
    [InlineData("AZURE_OPENAI_ENDPOINT=https://x.openai.azure.com/;AZURE_OPENAI_DEPLOYMENT=gpt;OPENAI_BASE_URL=http://localhost:1234/v1", "OPENAI_BASE_URL")]
    [InlineData("OPENAI_BASE_URL=not a url", "OPENAI_BASE_URL")]
    [InlineData("MEM0_API=server;MEM0_API_KEY=", "MEM0_BASE_URL")]
    [InlineData("MEM0_API=cloud", "MEM0_API")]
    [InlineData("MEM0_BASE_URL=api.mem0.ai", "MEM0_BASE_URL")]
    [InlineData("MEMORY_SEARCH_TOP_K=0", "MEMORY_SEARCH_TOP_K")]
    [InlineData("MEMORY_SEARCH_TOP_K=five", "MEMORY_SEARCH_TOP_K")]
    [InlineData("MEMORY_SEARCH_TIMEOUT_MS=0", "MEMORY_SEARCH_TIMEOUT_MS")]
    [InlineData("MEMORY_QUEUE_NAME=Memory_Writes", "MEMORY_QUEUE_NAME")]
    [InlineData("OPENAI_TIMEOUT_SECONDS=0", "OPENAI_TIMEOUT_SECONDS")]
    [InlineData("MODEL_CONTEXT_TOKENS=8192;PROMPT_TOKEN_BUDGET=8000", "MODEL_CONTEXT_TOKENS")]
    [InlineData("OPENAI_MODEL=gpt-4;PROMPT_TOKEN_BUDGET=8000", "PROMPT_TOKEN_BUDGET")] // gpt-4's known window is 8,192
    [InlineData("PROMPT_TOKEN_BUDGET=100", "PROMPT_TOKEN_BUDGET")]
    [InlineData("MAX_OUTPUT_TOKENS=0", "MAX_OUTPUT_TOKENS")]
    [InlineData("PROMPT_TOKEN_BUDGET=500;SUPPORT_INSTRUCTIONS=You are the help desk of Contoso, a shop for outdoor gear. Answer questions about orders, returns, refunds, shipping, accounts and payments. Be brief and kind, never promise what the policy does not allow, always offer the next step, and when a parcel is late look at the tracking history before you answer. Refunds go back to the original payment method within five working days, exchanges ship for free, a damaged item needs a photo. Never ask for a full card or a password, and hand anything about a legal claim over to a human agent.", "SUPPORT_INSTRUCTIONS")]
    [InlineData("MODEL_CONTEXT_TOKENS=lots", "MODEL_CONTEXT_TOKENS")]
    [InlineData("AzureWebJobsStorage=;AzureWebJobsStorage:queueServiceUri=https://a.queue.core.windows.net", "AzureWebJobsStorage__blobServiceUri")]
    [InlineData("AzureWebJobsStorage=;AzureWebJobsStorage:queueServiceUri=https://a.queue.core.windows.net", "AzureWebJobsStorage__tableServiceUri")]
    [InlineData("AUTH_MODE=oauth", "AUTH_MODE")]
    [InlineData("AUTH_MODE=jwt;AUTH_JWT_AUDIENCE=api://x", "AUTH_JWT_AUTHORITY")]
    [InlineData("AUTH_MODE=jwt;AUTH_JWT_AUTHORITY=https://login.example.com/t/v2.0", "AUTH_JWT_AUDIENCE")]
    [InlineData("AUTH_MODE=jwt;AUTH_JWT_AUTHORITY=http://login.example.com/t/v2.0;AUTH_JWT_AUDIENCE=api://x", "AUTH_JWT_AUTHORITY")]
    [InlineData("AUTH_MODE=none;AUTH_JWT_AUTHORITY=https://login.example.com/t/v2.0", "AUTH_JWT_AUTHORITY")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT=localhost:4318", "OTEL_EXPORTER_OTLP_ENDPOINT")]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL=http", "OTEL_EXPORTER_OTLP_PROTOCOL")]
    [InlineData("OTEL_SDK_DISABLED=yes", "OTEL_SDK_DISABLED")]
    [InlineData("APPLICATIONINSIGHTS_CONNECTION_STRING=my-app-insights", "APPLICATIONINSIGHTS_CONNECTION_STRING")]
    [InlineData("APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=Key", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING")]
    public void An_incomplete_or_contradictory_configuration_is_refused_naming_the_setting(string changes, string setting)
    {
        using var host = Build(Apply(Complete(), changes));

        var problems = SettingsCheck.FindProblems(host.Services);

        Assert.Contains(problems, p => p.Contains(setting, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("no destination", "")]
    [InlineData("Application Insights with the managed identity",
        "APPLICATIONINSIGHTS_CONNECTION_STRING=InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/;LiveEndpoint=http://127.0.0.1:9/",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD")]
    [InlineData("an OTLP collector", "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc")]
    public void Telemetry_builds_for_every_destination_setting(string why, params string[] settings)
    {
        // Building the Azure Monitor exporter must not reach for Microsoft's own endpoints from here (no network).
        Environment.SetEnvironmentVariable("APPLICATIONINSIGHTS_STATSBEAT_DISABLED", "true");
        var complete = Complete();
        foreach (string setting in settings.Where(s => s.Length > 0))
        {
            complete[setting[..setting.IndexOf('=')]] = setting[(setting.IndexOf('=') + 1)..];
        }
        using var host = Build(complete);

        Assert.True(SettingsCheck.FindProblems(host.Services).Count == 0, why);
        Assert.NotNull(host.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
        Assert.NotNull(host.Services.GetService<OpenTelemetry.Metrics.MeterProvider>());
    }

    [Fact]
    public void Host_start_refuses_an_incomplete_configuration_with_the_setting_name()
    {
        var settings = Complete();
        settings.Remove("OPENAI_API_KEY");
        using var host = Build(settings);

        var ex = Assert.ThrowsAny<Exception>(() => host.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate());

        Assert.Contains("OPENAI_API_KEY", ex.Message + string.Join(" ", (ex as AggregateException)?.InnerExceptions.Select(e => e.Message) ?? []));
    }

    private static Dictionary<string, string?> Apply(Dictionary<string, string?> settings, string changes)
    {
        foreach (var change in changes.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = change.IndexOf('=');
            string key = change[..eq], value = change[(eq + 1)..];
            settings[key] = value.Length == 0 ? null : value;
        }
        return settings;
    }
}
