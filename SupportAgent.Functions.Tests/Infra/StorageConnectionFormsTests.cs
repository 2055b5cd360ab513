using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Functions.Tests.Infra;

/// <summary>
/// The app's queue and blob clients follow the same AzureWebJobsStorage settings as the Functions runtime, in both
/// forms: a connection string (local, Azurite) and the identity-based form the Bicep deploys
/// (AzureWebJobsStorage__accountName, or __queueServiceUri + __blobServiceUri, with a managed identity).
/// </summary>
public sealed class StorageConnectionFormsTests
{
    [Fact]
    public void A_connection_string_reaches_azurite_for_queue_and_blob()
    {
        using var services = Build(new() { [SettingNames.Storage] = "UseDevelopmentStorage=true" });

        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        var clients = services.GetRequiredService<StorageClients>();

        Assert.True(options.UsesConnectionString);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), clients.CreateQueueServiceClient().Uri);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), clients.CreateBlobServiceClient().Uri);
        Assert.Equal("devstoreaccount1", clients.CreateQueueServiceClient().AccountName);
    }

    [Fact]
    public void The_account_name_form_uses_the_account_https_endpoints()
    {
        using var services = Build(new() { [SettingNames.ConfigKey(SettingNames.StorageAccountName)] = "stsupportagent01" });

        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        var clients = services.GetRequiredService<StorageClients>();

        Assert.False(options.UsesConnectionString);
        Assert.Equal(new Uri("https://stsupportagent01.queue.core.windows.net/"), clients.CreateQueueServiceClient().Uri);
        Assert.Equal(new Uri("https://stsupportagent01.blob.core.windows.net/"), clients.CreateBlobServiceClient().Uri);
        Assert.Equal("stsupportagent01", clients.CreateQueueServiceClient().AccountName);
    }

    [Fact]
    public void The_service_uri_form_uses_the_given_endpoints()
    {
        using var services = Build(new()
        {
            [SettingNames.ConfigKey(SettingNames.StorageQueueServiceUri)] = "https://stsupportagent01.queue.core.windows.net",
            [SettingNames.ConfigKey(SettingNames.StorageBlobServiceUri)] = "https://stsupportagent01.blob.core.windows.net",
            [SettingNames.ConfigKey(SettingNames.StorageTableServiceUri)] = "https://stsupportagent01.table.core.windows.net",
        });

        var clients = services.GetRequiredService<StorageClients>();

        Assert.Equal(new Uri("https://stsupportagent01.queue.core.windows.net/"), clients.CreateQueueServiceClient().Uri);
        Assert.Equal(new Uri("https://stsupportagent01.blob.core.windows.net/"), clients.CreateBlobServiceClient().Uri);
        Assert.Equal(new Uri("https://stsupportagent01.table.core.windows.net/"), clients.CreateTableServiceClient().Uri);
    }

    [Fact]
    public void Explicit_service_uris_win_over_the_account_name()
    {
        using var services = Build(new()
        {
            [SettingNames.ConfigKey(SettingNames.StorageAccountName)] = "stsupportagent01",
            [SettingNames.ConfigKey(SettingNames.StorageQueueServiceUri)] = "https://private-queue.example.net/",
            [SettingNames.ConfigKey(SettingNames.StorageBlobServiceUri)] = "https://private-blob.example.net/",
        });

        var clients = services.GetRequiredService<StorageClients>();

        Assert.Equal(new Uri("https://private-queue.example.net/"), clients.CreateQueueServiceClient().Uri);
        Assert.Equal(new Uri("https://private-blob.example.net/"), clients.CreateBlobServiceClient().Uri);
    }

    [Fact]
    public void A_connection_string_wins_over_the_identity_settings_as_in_the_runtime()
    {
        using var services = Build(new()
        {
            [SettingNames.Storage] = "UseDevelopmentStorage=true",
            [SettingNames.ConfigKey(SettingNames.StorageAccountName)] = "stsupportagent01",
        });

        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), services.GetRequiredService<StorageClients>().CreateQueueServiceClient().Uri);
    }

    [Fact]
    public void The_client_id_of_a_user_assigned_identity_is_bound()
    {
        using var services = Build(new()
        {
            [SettingNames.ConfigKey(SettingNames.StorageAccountName)] = "stsupportagent01",
            [SettingNames.ConfigKey(SettingNames.StorageCredential)] = "managedidentity",
            [SettingNames.ConfigKey(SettingNames.StorageClientId)] = "00000000-0000-0000-0000-000000000001",
        });

        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;

        Assert.Equal("managedidentity", options.Credential);
        Assert.Equal("00000000-0000-0000-0000-000000000001", options.ClientId);
        Assert.Equal(new Uri("https://stsupportagent01.queue.core.windows.net/"), services.GetRequiredService<StorageClients>().CreateQueueServiceClient().Uri);
    }

    [Fact]
    public void Environment_variables_with_double_underscores_bind_the_identity_form()
    {
        // The platform hands app settings to the worker as environment variables: AzureWebJobsStorage__accountName.
        // A unique prefix keeps this test's variables away from any other test and from the real environment.
        string prefix = $"SATEST_{Guid.NewGuid():N}_";
        string variable = prefix + SettingNames.StorageAccountName;
        Environment.SetEnvironmentVariable(variable, "stfromenvironment");
        try
        {
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables(prefix).Build();
            using var services = new ServiceCollection().AddSupportAgent(configuration).BuildServiceProvider();

            Assert.Equal("stfromenvironment", configuration[SettingNames.ConfigKey(SettingNames.StorageAccountName)]);
            Assert.Equal(new Uri("https://stfromenvironment.queue.core.windows.net/"), services.GetRequiredService<StorageClients>().CreateQueueServiceClient().Uri);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void The_storage_settings_the_bicep_sets_select_the_identity_form()
    {
        // Whatever AzureWebJobsStorage* keys infra/main.bicep sets, with an account name as their value, give https
        // endpoints with a managed identity: never the connection-string form, which shared-key-less storage rejects.
        // (The runtime's own retry settings, AzureWebJobsStorage__Retry__*, say how to connect, not where: left out.)
        var storageKeys = BicepAppSettings.From(BicepCli.Main.Template).Names
            .Where(name => name.StartsWith(SettingNames.Storage, StringComparison.Ordinal) && !name.Contains("__Retry__", StringComparison.Ordinal))
            .ToList();
        Assert.Equal([SettingNames.StorageAccountName], storageKeys);

        using var services = Build(storageKeys.ToDictionary(SettingNames.ConfigKey, _ => (string?)"stdeployed"));
        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;

        Assert.False(options.UsesConnectionString);
        Assert.Equal(new Uri("https://stdeployed.queue.core.windows.net/"), options.QueueEndpoint);
        Assert.Equal(new Uri("https://stdeployed.blob.core.windows.net/"), options.BlobEndpoint);
    }

    [Fact]
    public void Nothing_set_fails_validation_naming_the_settings()
    {
        using var services = Build(new());

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StorageOptions>>().Value);

        Assert.Contains($"{SettingNames.Storage} is not set", failure.Message, StringComparison.Ordinal);
        Assert.Contains(SettingNames.StorageAccountName, failure.Message, StringComparison.Ordinal);
        Assert.Contains(SettingNames.StorageQueueServiceUri, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_connection_string_is_not_set()
    {
        using var services = Build(new() { [SettingNames.Storage] = "" });

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StorageOptions>>().Value);

        Assert.Contains($"{SettingNames.Storage} is not set", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_queue_uri_without_a_blob_uri_fails_naming_the_blob_setting()
    {
        using var services = Build(new()
        {
            [SettingNames.ConfigKey(SettingNames.StorageQueueServiceUri)] = "https://stsupportagent01.queue.core.windows.net",
        });

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StorageOptions>>().Value);

        Assert.Contains($"{SettingNames.StorageBlobServiceUri} is not set", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_queue_uri_without_a_table_uri_fails_naming_the_table_setting()
    {
        using var services = Build(new()
        {
            [SettingNames.ConfigKey(SettingNames.StorageQueueServiceUri)] = "https://stsupportagent01.queue.core.windows.net",
            [SettingNames.ConfigKey(SettingNames.StorageBlobServiceUri)] = "https://stsupportagent01.blob.core.windows.net",
        });

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StorageOptions>>().Value);

        Assert.Contains($"{SettingNames.StorageTableServiceUri} is not set", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_service_uri_fails_naming_the_setting()
    {
        using var services = Build(new()
        {
            [SettingNames.ConfigKey(SettingNames.StorageQueueServiceUri)] = "stsupportagent01.queue.core.windows.net",
            [SettingNames.ConfigKey(SettingNames.StorageBlobServiceUri)] = "https://stsupportagent01.blob.core.windows.net",
            [SettingNames.ConfigKey(SettingNames.StorageTableServiceUri)] = "https://stsupportagent01.table.core.windows.net",
        });

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StorageOptions>>().Value);

        Assert.Contains($"{SettingNames.StorageQueueServiceUri} must be an absolute URL", failure.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddSupportAgent(configuration).BuildServiceProvider();
    }
}
