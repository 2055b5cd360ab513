using System.Text.Json;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.Functions.Tests.Infra;

/// <summary>
/// One source of truth for configuration: the settings the app reads (<see cref="SettingNames.ReadByService"/>) and the
/// app settings infra/main.bicep gives the function app must match, except for the explicit lists below.
/// The Bicep is compiled with the Bicep CLI (scripts/install-bicep.sh installs it) and its ARM template is read.
/// </summary>
public sealed class InfraDriftTests
{
    /// <summary>Settings the app reads that the Bicep deliberately does not set. Each one says why.</summary>
    private static readonly IReadOnlyDictionary<string, string> DeliberatelyOptional = new Dictionary<string, string>
    {
        // The storage account has shared-key access disabled, so a connection string cannot work there: the Bicep
        // uses the identity-based form (AzureWebJobsStorage__accountName) instead, read by the runtime and the app alike.
        [SettingNames.Storage] = "connection-string form; replaced by AzureWebJobsStorage__accountName (shared keys are disabled)",
        // Alternatives to __accountName for custom endpoints (private endpoints, Azurite, sovereign clouds); the account name suffices.
        [SettingNames.StorageQueueServiceUri] = "alternative to __accountName; not needed for a public-cloud account",
        [SettingNames.StorageBlobServiceUri] = "alternative to __accountName; not needed for a public-cloud account",
        // Tables (erasure records, the built-in memory store) are found from __accountName like queues and blobs.
        [SettingNames.StorageTableServiceUri] = "alternative to __accountName; not needed for a public-cloud account",
        // The older way to choose the store; the Bicep sets MEMORY_STORE, which wins over it.
        [SettingNames.Mem0Api] = "legacy alias of MEMORY_STORE (platform, server, local); the Bicep sets MEMORY_STORE",
        // Only for a user-assigned identity; the app runs with its system-assigned identity.
        [SettingNames.StorageCredential] = "user-assigned identity only; the app uses its system-assigned identity",
        [SettingNames.StorageClientId] = "user-assigned identity only; the app uses its system-assigned identity",
        // The Azure OpenAI deployment is called with the managed identity (Entra ID); its account has local (key) auth disabled.
        [SettingNames.AzureOpenAiApiKey] = "Azure OpenAI is called with Entra ID (managed identity), never with a key",
        // A switch for measuring (the benchmark's baseline) and troubleshooting; a deployment keeps telemetry on.
        [SettingNames.TelemetryDisabled] = "turns all telemetry off; for measurements, never a deployment default",
    };

    /// <summary>App settings the Bicep sets that the app does not read: the Functions host and the platform read them.</summary>
    private static readonly IReadOnlyDictionary<string, string> ReadByHostOrPlatform = new Dictionary<string, string>
    {
        // host.json's telemetryMode, pinned for the deployment (the worker exports OpenTelemetry whatever the host does).
        ["AzureFunctionsJobHost__telemetryMode"] = "Functions host: telemetry in OpenTelemetry form, correlated with the worker's",
        ["AzureWebJobsStorage__Retry__MaxRetries"] = "Functions host: its storage clients (the queue trigger's) retry through an outage (docs/storage-faults.md)",
        ["AzureWebJobsStorage__Retry__Delay"] = "Functions host: as above",
        ["AzureWebJobsStorage__Retry__MaxDelay"] = "Functions host: as above",
    };

    /// <summary>App settings the Bicep must never set.</summary>
    private static readonly IReadOnlyDictionary<string, string> Forbidden = new Dictionary<string, string>
    {
        // Flex Consumption rejects or ignores these: functionAppConfig.runtime and the deployment container replace them.
        ["FUNCTIONS_WORKER_RUNTIME"] = "Flex Consumption: set by functionAppConfig.runtime",
        ["FUNCTIONS_EXTENSION_VERSION"] = "Flex Consumption: not accepted",
        ["WEBSITE_RUN_FROM_PACKAGE"] = "Flex Consumption: the deployment blob container replaces it",
        ["WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"] = "Flex Consumption: no content file share",
        ["WEBSITE_CONTENTSHARE"] = "Flex Consumption: no content file share",
        ["WEBSITE_NODE_DEFAULT_VERSION"] = "Flex Consumption: not accepted",
        ["AzureWebJobsDashboard"] = "not used by Functions v4",
        // Keys that would sit in app settings in clear.
        ["APPINSIGHTS_INSTRUMENTATIONKEY"] = "legacy instrumentation key; the connection string is used",
        ["MICROSOFT_PROVIDER_AUTHENTICATION_SECRET"] = "Easy Auth here validates tokens only and needs no client secret",
    };

    /// <summary>Settings the app cannot start correctly without: the Bicep must set them whatever the parameters.</summary>
    private static readonly string[] AlwaysSet =
    [
        SettingNames.StorageAccountName,      // the runtime and the app's own queue client
        SettingNames.MemoryQueueName,         // the queue trigger binds %MEMORY_QUEUE_NAME%
        SettingNames.MemorySearchTopK,        // ints: an empty value fails binding
        SettingNames.MemorySearchTimeoutMs,
        SettingNames.OpenAiTimeoutSeconds,
        SettingNames.MemoryStore,
        SettingNames.AuthMode,                // who /api/me trusts: stated, never left to a default by accident
    ];

    /// <summary>Settings whose values are keys: they may only hold a Key Vault reference (or be empty).</summary>
    private static readonly string[] Secrets = [SettingNames.Mem0ApiKey, SettingNames.OpenAiApiKey];

    private static BicepAppSettings Bicep => BicepAppSettings.From(BicepCli.Main.Template);

    [Fact]
    public void Every_setting_the_app_reads_is_set_by_the_bicep_or_deliberately_optional()
    {
        var missing = SettingNames.ReadByService
            .Where(name => !Bicep.Names.Contains(name) && !DeliberatelyOptional.ContainsKey(name))
            .ToList();

        Assert.True(missing.Count == 0,
            $"The app reads {string.Join(", ", missing)} but infra/main.bicep does not set it. Add it to the appSettings object " +
            "in infra/main.bicep, or, if a deployment must not set it, to DeliberatelyOptional in this test with the reason.");
    }

    [Fact]
    public void Every_app_setting_the_bicep_sets_is_read_by_the_app_or_the_functions_host()
    {
        var unread = Bicep.Names
            .Where(name => !SettingNames.ReadByService.Contains(name) && !ReadByHostOrPlatform.ContainsKey(name))
            .ToList();

        Assert.True(unread.Count == 0,
            $"infra/main.bicep sets {string.Join(", ", unread)}, which the app does not read (SettingNames.ReadByService) " +
            "and which is not on the ReadByHostOrPlatform list of this test. Remove it, or add it to SettingNames (if the app reads it) " +
            "or to ReadByHostOrPlatform (if the Functions host or platform does).");
    }

    [Fact]
    public void The_exception_lists_are_not_stale()
    {
        var names = Bicep.Names;
        foreach (string name in DeliberatelyOptional.Keys)
        {
            Assert.True(SettingNames.ReadByService.Contains(name), $"DeliberatelyOptional lists {name}, which the app no longer reads.");
            Assert.False(names.Contains(name), $"DeliberatelyOptional lists {name}, but infra/main.bicep now sets it: remove it from the list.");
        }
        foreach (string name in ReadByHostOrPlatform.Keys)
        {
            Assert.False(SettingNames.ReadByService.Contains(name), $"ReadByHostOrPlatform lists {name}, which the app itself reads.");
            Assert.True(names.Contains(name), $"ReadByHostOrPlatform lists {name}, but infra/main.bicep no longer sets it.");
        }
    }

    [Fact]
    public void The_bicep_sets_nothing_that_flex_consumption_rejects_or_that_only_the_self_host_reads()
    {
        var names = Bicep.Names;
        foreach (var (name, why) in Forbidden)
        {
            Assert.False(names.Contains(name), $"infra/main.bicep sets {name}: {why}.");
        }
        foreach (string name in SettingNames.ReadBySelfHostOnly)
        {
            Assert.False(names.Contains(name), $"infra/main.bicep sets {name}, which only the self host reads (the function app has siteConfig.cors and its own port).");
        }
    }

    [Fact]
    public void Settings_the_app_cannot_start_without_are_set_whatever_the_parameters()
    {
        foreach (string name in AlwaysSet)
        {
            Assert.True(Bicep.Values.TryGetValue(name, out string? value), $"infra/main.bicep does not set {name}.");
            Assert.False(string.IsNullOrWhiteSpace(value), $"infra/main.bicep sets {name} to an empty value.");
            Assert.DoesNotContain("if(", value, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void The_deployment_runs_the_host_in_the_telemetry_mode_of_host_json()
    {
        using var hostJson = JsonDocument.Parse(RepoFiles.Read("host.json"));
        string mode = hostJson.RootElement.GetProperty("telemetryMode").GetString()!;

        Assert.Equal("OpenTelemetry", mode);
        Assert.Equal(mode, Bicep.Values["AzureFunctionsJobHost__telemetryMode"]);
        Assert.Contains("ConnectionString", Bicep.Values[SettingNames.ApplicationInsightsConnectionString], StringComparison.Ordinal);
        Assert.Equal("Authorization=AAD", Bicep.Values[SettingNames.ApplicationInsightsAuthenticationString]);
    }

    [Fact]
    public void Keys_reach_the_app_only_as_key_vault_references()
    {
        var template = BicepCli.Main.Template;
        var secureParameters = template.GetProperty("parameters").EnumerateObject()
            .Where(p => p.Value.GetProperty("type").GetString()!.StartsWith("secure", StringComparison.OrdinalIgnoreCase))
            .Select(p => p.Name)
            .ToList();
        Assert.NotEmpty(secureParameters);

        foreach (var (name, value) in Bicep.Values)
        {
            foreach (string parameter in secureParameters)
            {
                Assert.False(value.Contains($"parameters('{parameter}')", StringComparison.OrdinalIgnoreCase),
                    $"App setting {name} is built from the secure parameter {parameter}: put the value in Key Vault and reference it.");
            }
        }
        foreach (string name in Secrets)
        {
            Assert.True(Bicep.Values.TryGetValue(name, out string? value), $"infra/main.bicep does not set {name}.");
            Assert.Contains("@Microsoft.KeyVault(SecretUri=", value, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_app_identity_may_use_what_the_settings_point_at()
    {
        // Role definition ids of the built-in roles the app's identity needs.
        var needed = new Dictionary<string, string>
        {
            ["b7e6dc6d-f1e8-4753-8033-0f276bb0955b"] = "Storage Blob Data Owner (host, deployment package, payloads)",
            ["974c5e8b-45b9-4653-ba55-5f855dd0fb88"] = "Storage Queue Data Contributor (memory-writes queue and trigger)",
            ["0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"] = "Storage Table Data Contributor (runtime)",
            ["4633458b-17de-408a-b874-0445c86b69e6"] = "Key Vault Secrets User (Key Vault references)",
            ["3913510d-42f4-4e42-8a64-420c390055eb"] = "Monitoring Metrics Publisher (Entra ID telemetry)",
            ["5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"] = "Cognitive Services OpenAI User (Azure OpenAI with Entra ID)",
        };
        string templateText = BicepCli.Main.Template.GetRawText();
        var roleAssignments = ArmTemplate.Resources(BicepCli.Main.Template)
            .Where(r => ArmTemplate.IsOfType(r, "Microsoft.Authorization/roleAssignments"))
            .ToList();
        Assert.NotEmpty(roleAssignments);
        foreach (var (id, role) in needed)
        {
            Assert.True(templateText.Contains(id, StringComparison.OrdinalIgnoreCase), $"infra/main.bicep grants no {role}.");
        }
        foreach (var assignment in roleAssignments)
        {
            Assert.True(ArmTemplate.TryGetPath(assignment, out var principalType, "properties", "principalType"),
                "Every role assignment names its principalType, so it does not fail on a new identity that has not replicated yet.");
            Assert.Equal(JsonValueKind.String, principalType.ValueKind);
        }
    }
}
